"""Import a weight file from disk (.safetensors, .pth, .ckpt) into the store, as safetensors.

A diffusers folder (or its model_index.json), and a single transformer file of an installed
generation model, go to :mod:`~gptstudio.models.import_diffusers` instead.

The file is read without running any code it may contain (safetensors, or
``torch.load(weights_only=True)`` inside the spandrel family's reader), the architecture is
detected from the tensors, and the weights are written again as safetensors so every later load
is safe and fast. Nothing is stored unless all of that succeeds: a file that would execute code,
or that no architecture matches, gets one clear line and leaves the store untouched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gptstudio.core.errors import ModelError
from gptstudio.core.progress import TaskState
from gptstudio.models.store import Store, StoredFile, StoredModel, check_id, file_sha256, slug

#: File endings we can read safely. TorchScript (.pt archives with code) is refused by the reader.
IMPORTABLE = (".safetensors", ".pth", ".ckpt", ".bin", ".pt")
WEIGHTS_NAME = "model.safetensors"


def import_file(
    path: Path,
    store: Store,
    *,
    model_id: str | None = None,
    name: str | None = None,
    licence: str = "",
    allow_torchscript: bool = False,
    state: TaskState | None = None,
) -> StoredModel:
    """Detect and store the weights in ``path``; returns the installed model.

    ``model_id`` defaults to the file name made into an id; if that id is taken, a number is added
    (an explicit ``model_id`` that is taken is an error, so nothing is replaced by surprise).
    A TorchScript program is refused unless ``allow_torchscript`` says the user accepted that
    opening it runs its code; its weights are then stored as safetensors like any other import.
    """
    from safetensors.torch import save_file

    from gptstudio.engines import spandrel

    state = state or TaskState()
    path = Path(path)
    from gptstudio.models import import_diffusers

    if import_diffusers.is_diffusers_folder(path):  # a diffusers folder, or its model_index.json
        return import_diffusers.import_folder(
            path, store, model_id=model_id, name=name, licence=licence, state=state
        )
    if path.is_file() and path.suffix.lower() == ".safetensors" and import_diffusers.find_base(path, store):
        return import_diffusers.import_transformer_file(
            path, store, model_id=model_id, name=name, licence=licence, state=state
        )
    if not path.is_file():
        raise ModelError(f"{path} does not exist or is not a file.")
    if path.suffix.lower() not in IMPORTABLE:
        raise ModelError(
            f"{path.name}: unsupported file type '{path.suffix}'. Import .safetensors, .pth or .ckpt files."
        )
    state.report(0.05, f"Reading {path.name}")
    tensors = spandrel.read_state_dict(path, allow_torchscript=allow_torchscript)
    state.report(0.4, "Detecting the architecture")
    detected = spandrel.detect(tensors)
    if model_id is not None:
        check_id(model_id)
        if store.has(model_id):
            raise ModelError(
                f"A model '{model_id}' is already installed; remove it first or choose another id."
            )
        new_id = model_id
    else:
        new_id = store.free_id(slug(path.stem))
    state.report(0.6, "Storing as safetensors")
    incoming = store.incoming(new_id)
    try:
        target = incoming / WEIGHTS_NAME
        tmp = incoming / (WEIGHTS_NAME + ".part")
        # safetensors refuses tensors that share memory or are not contiguous; weights
        # exported from training often have both.
        save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(tmp))
        tmp.replace(target)
        digest = file_sha256(target)
        model = StoredModel(
            id=new_id,
            name=name or f"{path.stem} ({detected.architecture}, imported)",
            tasks=detected.tasks,
            engine="spandrel",
            architecture=detected.architecture,
            files=(StoredFile(WEIGHTS_NAME, target.stat().st_size, digest, published_hash=False),),
            source=f"file:{path.resolve()}",
            licence=licence or "unknown (imported by the user; check the model's own licence)",
            description=_describe(detected),
            detected=detected.to_json(),
            extra={"original_file": path.name, "original_sha256": file_sha256(path)},
        )
        installed = store.install(model, incoming)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    state.report(1.0, f"Imported {installed.id}")
    return installed


def _describe(detected: object) -> str:
    arch = getattr(detected, "architecture", "?")
    purpose = getattr(detected, "purpose", "")
    scale = getattr(detected, "scale", 1)
    what = f"×{scale} upscaler" if scale > 1 else (purpose or "model").lower()
    return f"A {arch} {what} imported from a file on this computer."



