"""Import diffusers weights a user already has: a diffusers folder, or a single transformer file.

A *folder* (what ``save_pretrained`` writes and other apps keep; picked by the folder itself or by
its ``model_index.json``) is detected from model_index.json — the family, its pipelines and tasks —
and copied into the store file by file, each file hashed, safetensors weights only (a pickle could
run code; such a folder is refused with what to do instead).

A *single file* of a catalog family — a fine-tuned transformer saved as one ``.safetensors`` — is
matched against the transformers of the diffusers models already installed: the one whose tensor
names and shapes it has, exactly, is its base. The new model is the base's folder with this
transformer in place of the base's (the other components, text encoders and VAE, are the base's:
the file does not have them). The base supplies the configs, so nothing is fetched from a hub.
A file in another layout (a ComfyUI/A1111 checkpoint with original key names) matches no base and
is refused with a message that says so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gptstudio.core.errors import CancelledError, ModelError
from gptstudio.core.progress import TaskState
from gptstudio.models.store import Store, StoredFile, StoredModel, check_id, file_sha256, slug

TRANSFORMER_WEIGHTS = "transformer/diffusion_pytorch_model.safetensors"


def is_diffusers_folder(path: Path) -> bool:
    path = Path(path)
    return (path.is_dir() and (path / "model_index.json").is_file()) or path.name == "model_index.json"


def _new_id(store: Store, model_id: str | None, stem: str) -> str:
    if model_id is None:
        return store.free_id(slug(stem))
    check_id(model_id)
    if store.has(model_id):
        raise ModelError(f"A model '{model_id}' is already installed; remove it first or choose another id.")
    return model_id


def _install(
    store: Store,
    new_id: str,
    sources: list[tuple[Path, str]],
    make_model: object,
    state: TaskState,
) -> StoredModel:
    """Copy ``(source file, relative name)`` pairs into the store's incoming folder, hashing each,
    then let ``make_model(files, folder)`` describe it and install it in one rename."""
    incoming = store.incoming(new_id)
    try:
        total = max(sum(src.stat().st_size for src, _ in sources), 1)
        done = 0
        files: list[StoredFile] = []
        for src, rel in sources:
            state.report(0.05 + 0.9 * done / total, f"Copying {rel}")
            target = incoming / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            files.append(StoredFile(rel, target.stat().st_size, file_sha256(target), published_hash=False))
            done += src.stat().st_size
        model = make_model(files, incoming)  # type: ignore[operator]
        return store.install(model, incoming)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise


def import_folder(
    path: Path,
    store: Store,
    *,
    model_id: str | None = None,
    name: str | None = None,
    licence: str = "",
    state: TaskState | None = None,
) -> StoredModel:
    """Store the diffusers folder ``path`` (or the folder of the model_index.json ``path``)."""
    from gptstudio.engines import diffusers

    state = state or TaskState()
    folder = Path(path).parent if Path(path).name == "model_index.json" else Path(path)
    state.report(0.01, "Reading model_index.json")
    bins = [p for p in folder.glob("*/*.bin")]
    detected = diffusers.detect(folder)
    if bins and not any(folder.glob(f"{bins[0].parent.name}/*.safetensors")):
        raise ModelError(
            f"{bins[0]} is a pickle, which could run code when opened. Save the pipeline again with "
            "safe_serialization=True (the default of save_pretrained) and import that folder."
        )
    family = diffusers.families.get(detected.family)
    new_id = _new_id(store, model_id, folder.name)
    sources = [(p, p.relative_to(folder).as_posix()) for p in diffusers.model_files(folder)]
    sources = [(p, rel) for p, rel in sources if not rel.endswith(".bin")]

    def make(files: list[StoredFile], incoming: Path) -> StoredModel:
        return StoredModel(
            id=new_id,
            name=name or f"{folder.name} ({family.label}, imported)",
            tasks=detected.tasks,
            engine="diffusers",
            architecture=f"diffusers-{family.key}",
            files=tuple(files),
            source=f"file:{folder.resolve()}",
            licence=licence or "unknown (imported by the user; check the model's own licence)",
            description=f"A {family.label} pipeline imported from a folder on this computer.",
            detected=diffusers.detect(incoming).to_json(),
            extra={"original_folder": str(folder.resolve())},
        )

    installed = _install(store, new_id, sources, make, state)
    state.report(1.0, f"Imported {installed.id}")
    return installed


def _signature(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of a safetensors file, from its header."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for a damaged header
        raise ModelError(f"{path} is not a readable safetensors file ({exc}).") from exc


def find_base(path: Path, store: Store) -> StoredModel | None:
    """The installed diffusers model whose transformer has exactly the tensors of ``path``."""
    wanted = _signature(path)
    for model in store.list():
        if model.engine != "diffusers":
            continue
        weights = sorted((model.folder / "transformer").glob("*.safetensors"))
        if not weights:
            continue
        have: dict[str, tuple[int, ...]] = {}
        for w in weights:
            have.update(_signature(w))
        if have == wanted:
            return model
    return None


def import_transformer_file(
    path: Path,
    store: Store,
    *,
    model_id: str | None = None,
    name: str | None = None,
    licence: str = "",
    state: TaskState | None = None,
) -> StoredModel:
    """Store a single transformer ``.safetensors`` on top of the installed model it fine-tunes."""
    state = state or TaskState()
    path = Path(path)
    state.report(0.01, f"Reading {path.name}")
    base = find_base(path, store)
    if base is None:
        raise ModelError(
            f"{path.name} matches no installed generation model: a single file is imported as the "
            "transformer of a model of its family, so install that model first (gptstudio models list "
            "--available). Files with original (non-diffusers) tensor names are not supported; import "
            "the whole diffusers folder instead."
        )
    new_id = _new_id(store, model_id, path.stem)
    sources = [(base.folder / f.name, f.name) for f in base.files if not f.name.startswith("transformer/")]
    sources += [(base.folder / f.name, f.name) for f in base.files if f.name == "transformer/config.json"]
    sources.append((path, TRANSFORMER_WEIGHTS))
    if state.cancelled:
        raise CancelledError()

    def make(files: list[StoredFile], incoming: Path) -> StoredModel:
        from gptstudio.engines import diffusers

        return StoredModel(
            id=new_id,
            name=name or f"{path.stem} (on {base.name}, imported)",
            tasks=base.tasks,
            engine="diffusers",
            architecture=base.architecture,
            files=tuple(files),
            source=f"file:{path.resolve()}",
            licence=licence or f"unknown (a fine-tune of {base.name}, whose licence is {base.licence})",
            description=f"{path.name} as the transformer of {base.name}; its other parts are {base.id}'s.",
            detected=diffusers.detect(incoming).to_json(),
            extra={"base_model": base.id, "original_file": path.name},
        )

    installed = _install(store, new_id, sources, make, state)
    state.report(1.0, f"Imported {installed.id}")
    return installed
