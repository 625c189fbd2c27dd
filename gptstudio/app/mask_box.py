"""A region operation on the mask as one undoable edit that keeps only the box it changed.

Why a box of uint8 and not tiles or the whole mask: an object selected on a 24-MP photo changes a
few hundred thousand pixels; the tile copies a stroke keeps (ARGB, 4 bytes a pixel, before and
after) would cost four times as much, and a whole-mask copy 48 MB per click. Reading and writing a
box goes through Qt's raster engine, as :func:`~gptstudio.app.history_mask.put` does, so a whole
24-MP box stays within tens of milliseconds on the GUI thread.

A "Select object" prompt is refined click by click; each refinement :meth:`MaskBoxCommand.amend`\\ s
the command on top of the stack instead of pushing another, so the whole object is one undo step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPainter, QUndoCommand

from gptstudio.app.mask_layer import MASK_COLOR, MaskItem

Box = tuple[int, int, int, int]


def read_box(mask: MaskItem, box: Box) -> np.ndarray:
    """The mask's alpha inside ``box`` (x0, y0, x1, y1), a uint8 copy."""
    x0, y0, x1, y1 = box
    a8 = mask.readable().copy(QRect(x0, y0, x1 - x0, y1 - y0)).convertToFormat(QImage.Format.Format_Alpha8)
    h, w, bpl = a8.height(), a8.width(), a8.bytesPerLine()
    return np.frombuffer(a8.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)[:, :w].copy()


def write_box(mask: MaskItem, box: Box, alpha: np.ndarray) -> None:
    """Make the mask ``alpha`` inside ``box``, tinted as painting tints it."""
    x0, y0, x1, y1 = box
    a = np.ascontiguousarray(alpha, dtype=np.uint8)
    h, w = a.shape
    if (w, h) != (x1 - x0, y1 - y0):
        raise ValueError(f"a {w}×{h} mask does not fill the box {box}")
    source = QImage(a.data, w, h, w, QImage.Format.Format_Alpha8)
    painter = QPainter(mask.image_for(QRect(x0, y0, w, h)))
    try:
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(x0, y0, source)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(x0, y0, w, h, MASK_COLOR)
    finally:
        painter.end()
    del source  # it borrowed ``a``'s memory
    mask.update(QRectF(x0, y0, w, h))


def union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


class MaskBoxCommand(QUndoCommand):
    """The mask inside ``box`` goes from ``before`` to ``after`` (uint8 arrays of the box's size).

    The first redo writes ``after`` (the region's result arrives finished from its thread).
    """

    def __init__(self, mask: MaskItem, box: Box, before: np.ndarray, after: np.ndarray, text: str) -> None:
        super().__init__(text)
        self.mask, self.box, self.before, self.after = mask, box, before, after

    def cost(self) -> int:
        return int(self.before.nbytes + self.after.nbytes)

    def redo(self) -> None:
        write_box(self.mask, self.box, self.after)

    def undo(self) -> None:
        write_box(self.mask, self.box, self.before)

    def original(self, box: Box) -> np.ndarray:
        """The mask inside ``box`` as it was before this command: its own ``before`` inside its
        box, the mask as it is now elsewhere (this command did not touch those pixels)."""
        out = read_box(self.mask, box)
        x0, y0, x1, y1 = self.box
        out[y0 - box[1] : y1 - box[1], x0 - box[0] : x1 - box[0]] = self.before
        return out

    def amend(self, box: Box, before: np.ndarray, after: np.ndarray) -> None:
        """Replace this command's change by another over ``box`` (which holds the old box), and
        show it: the object's next refinement stays one undo step."""
        self.box, self.before, self.after = box, before, after
        write_box(self.mask, box, after)
