"""The working document (image, mask, results history) and its autosave format. Qt-free.

Keeping this free of Qt means the autosave files can be written from a plain background thread and
read back by tests or a future command without a GUI. An autosave folder holds ``image.png``, an
optional ``mask.png`` and ``document.json``; the JSON is written last, so a folder without it is an
interrupted write and is ignored rather than half-recovered.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import ImageReadError
from gptstudio.core.imageio import ImageData, load_image, save_image

DOCUMENT_JSON = "document.json"
IMAGE_FILE = "image.png"
MASK_FILE = "mask.png"


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
        """Read an image file; raises ImageReadError with a message for the user."""
        image = load_image(path)
        return cls(image=image, original=image, source_path=Path(path))

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
class Snapshot:
    """Everything needed to bring a document back after a crash."""

    image: ImageData
    mask: np.ndarray | None
    history: list[dict[str, Any]]
    source_path: str | None
    save_path: str | None
    saved_at: float = field(default_factory=time.time)

    @classmethod
    def of(cls, doc: Document, mask: np.ndarray | None) -> Snapshot:
        return cls(
            image=doc.image,
            mask=mask,
            history=[dict(h) for h in doc.history],
            source_path=str(doc.source_path) if doc.source_path else None,
            save_path=str(doc.save_path) if doc.save_path else None,
        )

    def to_document(self) -> Document:
        image = self.image
        return Document(
            image=image,
            original=image,
            source_path=Path(self.source_path) if self.source_path else None,
            save_path=Path(self.save_path) if self.save_path else None,
            history=list(self.history),
        )


def write_snapshot(folder: Path, snap: Snapshot) -> None:
    """Write a snapshot into ``folder`` atomically, file by file, the JSON last."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DOCUMENT_JSON).unlink(missing_ok=True)
    save_image(snap.image, folder / IMAGE_FILE, overwrite=True)
    if snap.mask is not None and snap.mask.any():
        ok, png = cv2.imencode(".png", np.ascontiguousarray(snap.mask, dtype=np.uint8))
        if not ok:
            raise ImageReadError("The mask could not be encoded for autosave.")
        atomic_write_bytes(folder / MASK_FILE, png.tobytes())
    else:
        (folder / MASK_FILE).unlink(missing_ok=True)
    meta = {
        "version": 1,
        "history": snap.history,
        "source_path": snap.source_path,
        "save_path": snap.save_path,
        "saved_at": snap.saved_at,
        "size": list(snap.image.size),
    }
    atomic_write_bytes(folder / DOCUMENT_JSON, json.dumps(meta, indent=1).encode())


def has_snapshot(folder: Path) -> bool:
    return (folder / DOCUMENT_JSON).is_file() and (folder / IMAGE_FILE).is_file()


def read_snapshot(folder: Path) -> Snapshot:
    """Read back what :func:`write_snapshot` wrote (ImageReadError if it is damaged)."""
    try:
        meta = json.loads((folder / DOCUMENT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"The autosaved document in {folder} is damaged: {exc}") from exc
    image = load_image(folder / IMAGE_FILE)
    mask = None
    if (folder / MASK_FILE).is_file():
        raw = cv2.imdecode(np.fromfile(str(folder / MASK_FILE), dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        if raw is None or raw.shape != (image.height, image.width):
            raise ImageReadError(f"The autosaved mask in {folder} is damaged.")
        mask = raw
    return Snapshot(
        image=image,
        mask=mask,
        history=list(meta.get("history", [])),
        source_path=meta.get("source_path"),
        save_path=meta.get("save_path"),
        saved_at=float(meta.get("saved_at", 0.0)),
    )
