"""Every change to the document is a QUndoCommand, so Undo/Redo cover strokes, mask edits and results.

Strokes keep only the tiles they touched (before and after), whole-mask edits keep the mask as one
byte per pixel. Results are :class:`~gptstudio.app.history.ResultCommand`: they keep only their
changed box in the image's bit depth, under a memory budget (see :mod:`gptstudio.app.history`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtGui import QImage, QUndoCommand

from gptstudio.app.mask_layer import MaskItem, Tiles
from gptstudio.core.imageio import ImageData


class MaskTilesCommand(QUndoCommand):
    """A brush stroke, eraser stroke, rectangle or lasso: swaps the touched tiles."""

    def __init__(self, mask: MaskItem, before: Tiles, after: Tiles, text: str) -> None:
        super().__init__(text)
        self._mask, self._before, self._after = mask, before, after
        self._first = True

    def redo(self) -> None:
        if self._first:  # already painted live while the user dragged
            self._first = False
            return
        self._mask.put_tiles(self._after)

    def undo(self) -> None:
        self._mask.put_tiles(self._before)


class MaskReplaceCommand(QUndoCommand):
    """Clear, invert, fill, mask from selection or from a file: the whole mask, one byte per pixel."""

    def __init__(self, mask: MaskItem, after: np.ndarray, text: str) -> None:
        super().__init__(text)
        self._mask = mask
        self._before = mask.alpha()
        self._after = np.ascontiguousarray(after, dtype=np.uint8)

    def redo(self) -> None:
        self._mask.set_alpha(self._after)

    def undo(self) -> None:
        self._mask.set_alpha(self._before)


class MaskOpCommand(QUndoCommand):
    """Fill, clear or invert the whole mask, in place, without copying it through numpy.

    Why not :class:`MaskReplaceCommand`: on a 24-MP photo, building the new array, copying the old
    one and writing it back costs 150-250 ms on the GUI thread. Here invert is its own undo (exact:
    255 - (255 - a) = a) and keeps nothing; fill and clear keep the previous mask as one Alpha8
    image (1 byte a pixel), or nothing at all when it was empty. Every step stays near 10-40 ms.
    """

    OPS = ("fill", "clear", "invert")

    def __init__(self, mask: MaskItem, op: str, text: str) -> None:
        super().__init__(text)
        if op not in self.OPS:
            raise ValueError(f"unknown mask operation {op!r}")
        self._mask, self._op = mask, op
        self._before: QImage | None = None

    def cost(self) -> int:
        """Bytes this entry holds (for the history's memory budget)."""
        return 0 if self._before is None else self._before.sizeInBytes()

    def redo(self) -> None:
        if self._op == "invert":
            self._mask.invert_all()
            return
        self._before = self._mask.alpha_image()
        if self._op == "fill":
            self._mask.fill_all()
        else:
            self._mask.clear_all()

    def undo(self) -> None:
        if self._op == "invert":
            self._mask.invert_all()
        else:
            self._mask.set_alpha_image(self._before)
            self._before = None


@dataclass
class ImageState:
    """The document's pixels at one point of the history, as the jobs controller puts them back."""

    image: ImageData
    qimage: QImage
    history: list[dict[str, Any]] = field(default_factory=list)
    #: The mask (uint8, 255 = change) at this state's size, kept only when a result changes the
    #: image size (an upscale): undo must give back the mask the smaller image had, while the
    #: stroke commands below it in the stack keep working on the same mask item.
    mask: np.ndarray | None = field(default=None, repr=False)
