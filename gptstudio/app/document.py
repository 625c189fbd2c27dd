"""The working document (image, original, mask, results history), its file format and autosave. Qt-free.

Keeping this free of Qt means documents can be saved and autosaved from a plain background thread
and read back by tests or a command without a GUI. Save and autosave write the same OpenRaster
file (:mod:`gptstudio.core.ora`): the current image, the original (so Compare still works after a
reopen or a crash), the mask as a hidden layer, the history and the parameters. An autosave folder
holds one ``document.ora``, replaced atomically, so a crash mid-write leaves the previous one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gptstudio.core.errors import ImageReadError
from gptstudio.core.imageio import ImageData, load_image
from gptstudio.core.ora import Checkpoint, PngCache, is_ora, read_ora, write_ora

#: The autosave file inside a session folder.
SNAPSHOT_FILE = "document.ora"
ORA_SUFFIX = ".ora"


@dataclass
class Document:
    """What the user is editing: the current pixels, the file they came from, what produced them."""

    image: ImageData = field(repr=False)
    #: The pixels as opened, for the before/after comparison.
    original: ImageData = field(repr=False)
    source_path: Path | None = None
    #: Where Save writes; None until the user chose a file (we never overwrite the original unasked).
    save_path: Path | None = None
    #: Parameters of every result applied so far, oldest first.
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path) -> Document:
        """Read an image file or an .ora (without its mask); raises ImageReadError for the user."""
        return open_document(path).document

    @property
    def file_params(self) -> dict[str, Any]:
        """Task parameters this program stored in the opened file (empty for other files)."""
        return dict(self.original.params)

    @property
    def title(self) -> str:
        if self.save_path is not None:
            return self.save_path.name
        return self.source_path.name if self.source_path else "Untitled"

    def save_params(self) -> dict[str, Any]:
        """What goes into a saved PNG: the last result's parameters plus the whole history."""
        if not self.history:
            return dict(self.file_params)
        params = dict(self.history[-1])
        params["history"] = [dict(h) for h in self.history]
        return params


@dataclass
class DocumentState:
    """A document as a file brings it back: the document and the mask painted on it."""

    document: Document
    #: uint8 H×W (255 = change), or None for no mask.
    mask: np.ndarray | None = None


def open_document(path: str | Path) -> DocumentState:
    """Open any image; an .ora (by content, whatever its name) brings its original, mask and history."""
    if is_ora(path) or Path(path).suffix.lower() == ORA_SUFFIX:
        return load_ora(path)
    image = load_image(path)
    return DocumentState(Document(image=image, original=image, source_path=Path(path)))


def document_meta(doc: Document) -> dict[str, Any]:
    """What goes into the .ora's JSON entry: enough to repeat every step and to reuse parameters."""
    return {
        "history": [dict(h) for h in doc.history],
        "params": doc.save_params(),
        "source_path": str(doc.source_path) if doc.source_path else None,
    }


#: The layers' PNGs, reused while their image is unchanged (see ``ora._cached_png``): the original
#: never changes, and a 24-MP PNG costs seconds at every Save and every autosave otherwise.
_png_cache: PngCache = {}
#: zlib level of autosaves: a third of the CPU time of Save's level 6, for a few percent more bytes.
AUTOSAVE_LEVEL = 1


def save_ora(doc: Document, path: str | Path, mask: np.ndarray | None, **extra: Any) -> None:
    """Write the whole document to an .ora atomically (ImageWriteError says why it failed).

    Safe to call from any thread: it reads only ``doc``'s immutable images and the given mask.
    """
    meta = {**document_meta(doc), **extra}
    write_ora(path, doc.image, doc.original, mask, meta, cache=_png_cache)


def load_ora(path: str | Path) -> DocumentState:
    """Read an .ora: ours restores image, original, mask and history; another program's opens flat.

    Our own file becomes the Save target again (Save writes back to it); another program's file is
    not, since Save would replace its layers with ours.
    """
    ora = read_ora(path)
    ours = bool(ora.meta)
    source = ora.meta.get("source_path") if ours else None
    doc = Document(
        image=ora.image,
        original=ora.original,
        source_path=Path(source) if source else Path(path),
        save_path=Path(path) if ours else None,
        history=[dict(h) for h in ora.meta.get("history", []) if isinstance(h, dict)],
    )
    return DocumentState(doc, ora.mask)


@dataclass
class Snapshot:
    """Everything needed to bring a document back after a crash."""

    image: ImageData
    mask: np.ndarray | None
    history: list[dict[str, Any]]
    source_path: str | None
    save_path: str | None
    saved_at: float = field(default_factory=time.time)
    #: The pixels as first opened, so Compare after a recovery still compares with them.
    original: ImageData | None = None
    #: The parameters the opened file carried (Reuse parameters offers them after a recovery).
    file_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: Document, mask: np.ndarray | None) -> Snapshot:
        return cls(
            image=doc.image,
            mask=mask,
            history=[dict(h) for h in doc.history],
            source_path=str(doc.source_path) if doc.source_path else None,
            save_path=str(doc.save_path) if doc.save_path else None,
            original=doc.original,
            file_params=doc.file_params,
        )

    def to_document(self) -> Document:
        original = self.original if self.original is not None else self.image
        if self.file_params:
            from dataclasses import replace

            original = replace(original, params=dict(self.file_params))
        return Document(
            image=self.image,
            original=original,
            source_path=Path(self.source_path) if self.source_path else None,
            save_path=Path(self.save_path) if self.save_path else None,
            history=list(self.history),
        )


def write_snapshot(folder: Path, snap: Snapshot, checkpoint: Checkpoint = None) -> None:
    """Write a snapshot as ``folder/document.ora``, atomically (the old one stays until it is done);
    ``checkpoint()`` runs between encoding steps (the autosave pauses there while the window is busy)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "history": snap.history,
        "params": dict(snap.file_params),
        "source_path": snap.source_path,
        "save_path": snap.save_path,
        "saved_at": snap.saved_at,
    }
    write_ora(
        folder / SNAPSHOT_FILE, snap.image, snap.original, snap.mask, meta,
        cache=_png_cache, level=AUTOSAVE_LEVEL, checkpoint=checkpoint,
    )  # fmt: skip


def has_snapshot(folder: Path) -> bool:
    return (folder / SNAPSHOT_FILE).is_file()


def read_snapshot(folder: Path) -> Snapshot:
    """Read back what :func:`write_snapshot` wrote (ImageReadError if it is damaged)."""
    ora = read_ora(folder / SNAPSHOT_FILE)
    if not ora.meta:
        raise ImageReadError(f"The autosaved document in {folder} is damaged: it has no document data.")
    meta = ora.meta
    return Snapshot(
        image=ora.image,
        mask=ora.mask,
        history=[dict(h) for h in meta.get("history", []) if isinstance(h, dict)],
        source_path=meta.get("source_path"),
        save_path=meta.get("save_path"),
        saved_at=float(meta.get("saved_at", 0.0)),
        original=ora.original,
        file_params=dict(ora.original.params),
    )
