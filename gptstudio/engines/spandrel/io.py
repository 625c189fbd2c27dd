"""Reading community weight files without ever running code that came with them.

A ``.pth``/``.ckpt`` file is a Python pickle, and a pickle may call any function while it is read
(a file whose ``__reduce__`` calls ``os.system`` runs that command). We read such files only with
``torch.load(weights_only=True)``, whose unpickler rebuilds tensors and plain containers and refuses
everything else. TorchScript archives carry compiled program code by design, so they are refused
before torch opens them. ``.safetensors`` holds nothing but tensors and is read first when offered.

The authors' wrappers (``{"params_ema": ...}`` from BasicSR, ``{"state_dict": ...}``, ``module.``
prefixes from DataParallel) are removed by spandrel's ``canonicalize_state_dict``, so detection
sees the bare state dict whatever training framework wrote the file.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from gptstudio.core.errors import ModelError

SAFETENSORS_SUFFIXES = (".safetensors",)
#: Pickle-based checkpoints, read with the weights-only unpickler. ``.pt`` is accepted only when it
#: is a plain checkpoint, not a TorchScript program.
PICKLE_SUFFIXES = (".pth", ".ckpt", ".bin", ".pt")
SUFFIXES = SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES


def read_state_dict(path: Path, *, allow_torchscript: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a weight file, unwrapped, on the CPU; :class:`ModelError` saying why not.

    ``allow_torchscript`` is the user's explicit consent to open a TorchScript program (LaMa is
    published only that way): it is loaded once, its weights are taken, and the program dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"The model file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ModelError(
            f"{path.name} is not a weight file GPT Studio reads; use .safetensors, .pth, .ckpt or .bin."
        )
    if suffix in SAFETENSORS_SUFFIXES:
        raw = _read_safetensors(path)
    elif allow_torchscript and is_torchscript(path):
        raw = _read_torchscript(path)
    else:
        raw = _read_pickle(path)
    return _tensors_only(raw, path)


def _read_safetensors(path: Path) -> dict[str, object]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path.name} is damaged or not a safetensors file and cannot be read.") from exc


def is_torchscript(path: Path) -> bool:
    """True for a TorchScript archive (``torch.jit.save``): a zip holding compiled code.

    ``torch.save`` archives hold ``data.pkl`` and tensor records only; TorchScript adds
    ``constants.pkl`` and a ``code/`` folder. Only the zip directory is read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("/constants.pkl") or "/code/" in n for n in names)


def _read_torchscript(path: Path) -> dict[str, object]:
    try:
        return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelError(f"{path.name} is a damaged TorchScript file and cannot be read.") from exc


def _read_pickle(path: Path) -> object:
    if is_torchscript(path):
        raise ModelError(
            f"{path.name} is a TorchScript program, not a weights file; it was refused because "
            f"loading it would run its code (allow it only for a file you trust: --allow-torchscript)."
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # The weights-only unpickler names what it refused (a function, a class to build).
        raise ModelError(
            f"{path.name} was refused: it contains program code, not only weights, and reading it "
            f"would run that code."
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(
            f"{path.name} is damaged or not a .pth/.ckpt weights file and cannot be read."
        ) from exc


def _tensors_only(raw: object, path: Path) -> dict[str, torch.Tensor]:
    """Unwrap the known containers and keep the tensors (checkpoints also store epochs, names ...)."""
    from spandrel import canonicalize_state_dict

    if not isinstance(raw, dict):
        raise ModelError(f"{path.name} holds no named weights (it is not a state dict).")
    unwrapped = canonicalize_state_dict(raw)
    tensors = {str(k): v for k, v in unwrapped.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ModelError(f"{path.name} holds no weights.")
    return tensors
