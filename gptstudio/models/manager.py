"""Pull, verify and remove catalog models: the downloader, the detector and the store together.

This is what ``gptstudio models pull`` and the Models dialog's Download button both call, so the
command line and the window install a model the same way: licence confirmed first, files
downloaded (resumable) into the store's ``.incoming`` folder, the architecture detected from the
weights and compared with the catalog, then one rename makes it an installed model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gptstudio.core.errors import ModelError
from gptstudio.core.progress import TaskState
from gptstudio.models.catalog import CatalogEntry
from gptstudio.models.download import DownloadProgress, FileSpec, download_file
from gptstudio.models.store import Store, StoredFile, StoredModel, file_sha256


class LicenceNotAccepted(ModelError):
    """A restricted licence (non-commercial, research only) was not confirmed by the user."""

    title = "Licence needs your confirmation"


class TorchScriptNotAllowed(ModelError):
    """The model is published only as a TorchScript program and the user did not allow opening it."""

    title = "Needs your permission"


def needs_torchscript(entry: CatalogEntry) -> bool:
    return any(f.format == "torchscript" for f in entry.files)


def torchscript_notice(entry: CatalogEntry) -> str:
    """The warning shown before opening a TorchScript download, written for the person deciding."""
    return (
        f"{entry.name} is published only as a TorchScript program, not as plain weights. Opening it "
        "runs code from the download. GPT Studio opens it once, right after the download, to copy its "
        "weights into a safetensors file, and never opens the program again."
    )


def licence_notice(entry: CatalogEntry) -> str:
    """What the user is shown before a download, and must confirm when the licence is restricted."""
    text = f"{entry.name} is licensed under {entry.licence} ({entry.licence_url})."
    if entry.restricted:
        text += (
            " This licence restricts use (for example: non-commercial use only). "
            "Download only if you accept it."
        )
    return text


def pull(
    entry: CatalogEntry,
    store: Store,
    *,
    accept_licence: bool = False,
    allow_torchscript: bool = False,
    state: TaskState | None = None,
    on_progress: Callable[[DownloadProgress], None] | None = None,
) -> StoredModel:
    """Download, verify, detect and install a catalog entry; resumes an unfinished pull."""
    state = state or TaskState()
    if entry.is_builtin:
        raise ModelError(f"'{entry.id}' is built in; there is nothing to download.")
    if entry.restricted and not accept_licence:
        raise LicenceNotAccepted(licence_notice(entry) + " Pass --accept-licence to confirm.")
    if needs_torchscript(entry) and not allow_torchscript:
        raise TorchScriptNotAllowed(torchscript_notice(entry) + " Pass --allow-torchscript to allow it.")
    incoming = store.incoming(entry.id)
    total = max(entry.download_size, 1)
    done_before = 0
    files: list[StoredFile] = []
    for f in entry.files:
        sub = state.sub(done_before / total, (done_before + f.size) / total)
        dest = incoming / f.folder if f.folder else incoming  # a diffusers component's sub-folder
        dest.mkdir(parents=True, exist_ok=True)
        got = download_file(
            # An approximate published size is only for display and the disk-space check.
            FileSpec(name=f.name, url=f.url, size=f.size if f.size_exact else None, sha256=f.sha256),
            dest,
            state=sub,
            on_progress=on_progress,
        )
        files.append(StoredFile(f.path, got.size, got.sha256, published_hash=got.verified))
        done_before += f.size
    state.report(1.0, "Checking the weights")
    if entry.files[0].format == "torchscript":
        files = [_convert_torchscript(incoming, entry.files[0].name, files[0])]
    if entry.engine == "diffusers":
        detected = _detect_diffusers(incoming, entry)
    else:
        detected = _detect(incoming / files[0].name, entry)
    model = StoredModel(
        id=entry.id,
        name=entry.name,
        tasks=tuple(entry.tasks),
        engine=entry.engine,
        architecture=entry.architecture,
        files=tuple(files),
        source=entry.source,
        licence=entry.licence,
        licence_url=entry.licence_url,
        restricted=entry.restricted,
        description=entry.description,
        detected=detected,
        extra={"catalog_id": entry.id},
    )
    return store.install(model, incoming)


def _convert_torchscript(incoming: Path, name: str, original: StoredFile) -> StoredFile:
    """Copy the weights of a verified TorchScript download into ``model.safetensors``, drop the program."""
    from safetensors.torch import save_file

    from gptstudio.engines import spandrel

    tensors = spandrel.read_state_dict(incoming / name, allow_torchscript=True)
    target = incoming / "model.safetensors"
    tmp = incoming / "model.safetensors.part"
    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(tmp))
    tmp.replace(target)
    (incoming / name).unlink()
    return StoredFile("model.safetensors", target.stat().st_size, file_sha256(target), published_hash=False)





def _detect(path: Path, entry: CatalogEntry) -> dict:
    """What the weights say they are; a file that is not the catalog's architecture is refused."""
    if entry.engine != "spandrel":
        return {}
    from gptstudio.engines import spandrel

    detected = spandrel.detect(spandrel.read_state_dict(path))
    if _norm(detected.architecture) != _norm(entry.architecture):
        raise ModelError(
            f"The downloaded file for '{entry.id}' holds a {detected.architecture} model, not the "
            f"{entry.architecture} the catalog promises; it was not installed."
        )
    return detected.to_json()


def _detect_diffusers(folder: Path, entry: CatalogEntry) -> dict:
    """A downloaded diffusers folder must be the pipeline family the catalog promises."""
    from gptstudio.engines import diffusers

    # the family the entry promises: a shared component folder may name another pipeline class
    detected = diffusers.detect(folder, expected_family=entry.architecture.removeprefix("diffusers-"))
    if f"diffusers-{detected.family}" != entry.architecture:
        raise ModelError(
            f"The download for '{entry.id}' holds a {detected.pipeline}, not the {entry.architecture} "
            "the catalog promises; it was not installed."
        )
    return detected.to_json()


def _norm(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


@dataclass(frozen=True)
class VerifyReport:
    model_id: str
    ok: bool
    problems: tuple[str, ...]


def verify(store: Store, model_id: str) -> VerifyReport:
    """Re-hash every file of an installed model against its model.json."""
    model = store.get(model_id)
    problems = []
    for f in model.files:
        path = model.folder / f.name
        if not path.is_file():
            problems.append(f"{f.name} is missing")
            continue
        if path.stat().st_size != f.size:
            problems.append(f"{f.name} has {path.stat().st_size} bytes, expected {f.size}")
            continue
        if file_sha256(path) != f.sha256:
            problems.append(f"{f.name} does not match its sha256 (damaged or changed on disk)")
    return VerifyReport(model_id, not problems, tuple(problems))
