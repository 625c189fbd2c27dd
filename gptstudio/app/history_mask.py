"""The mask an inpaint result clears as it lands, kept for its undo as a compact uint8 box.

Why a box and not the whole mask: an inpaint mask is usually a small area of a big photo. Kept
whole (an Alpha8 copy, 24 MB on 24 MP) per inpaint step, outside the history's byte budget, 40
steps held a gigabyte nobody counted. The box around the painted pixels, one byte a pixel, is a
few hundred kilobytes, and it is counted in the budget with the step's pixels (it lives in the
step's :class:`~gptstudio.app.history.HistoryEntry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPainter

from gptstudio.app.mask_layer import MASK_COLOR, MaskItem
from gptstudio.app.undo_commands import ImageState
from gptstudio.core.masks import nonzero_box


@dataclass(eq=False)
class MaskBox:
    """The painted part of a mask: the alpha (uint8) inside the box at (x0, y0)."""

    x0: int
    y0: int
    alpha: np.ndarray


def grab(mask: MaskItem) -> MaskBox | None:
    """The mask's painted box (None when nothing is painted). Only the rectangle the mask knows
    may be painted is converted (Qt makes the Alpha8 copy); numpy trims it to the exact box."""
    area, inside = mask.painted_alpha()
    found = nonzero_box(inside)
    if found is None:
        return None
    y0, y1, x0, x1 = found
    return MaskBox(area.left() + x0, area.top() + y0, np.ascontiguousarray(inside[y0:y1, x0:x1]))


def put(mask: MaskItem, box: MaskBox | None) -> None:
    """Make the mask exactly ``box`` (cleared elsewhere), tinted as painting tints it."""
    mask.clear_all()
    if box is None:
        return
    a = np.ascontiguousarray(box.alpha, dtype=np.uint8)
    h, w = a.shape
    source = QImage(a.data, w, h, w, QImage.Format.Format_Alpha8)
    painter = QPainter(mask.image_for(QRect(box.x0, box.y0, w, h)))
    try:
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(box.x0, box.y0, source)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(box.x0, box.y0, w, h, MASK_COLOR)
    finally:
        painter.end()
    del source  # it borrowed ``a``'s memory
    mask.update(QRectF(box.x0, box.y0, w, h))


class ClearsMask:
    """``apply`` for an inpaint result: the mask is cleared as the result lands, so the person
    sees what was filled, and comes back as it was when the result is undone.

    The mask is kept in ``holder.mask_box`` (the step's history entry, whose bytes the budget
    counts). Redo and undo are told apart by the history length of the state being put back.
    """

    def __init__(
        self, apply: Callable[[ImageState], None], mask: MaskItem, after_length: int, holder: object
    ) -> None:
        self.apply, self.mask, self.after_length, self.holder = apply, mask, after_length, holder

    def __call__(self, state: ImageState) -> None:
        self.apply(state)
        if len(state.history) == self.after_length:
            self.holder.mask_box = grab(self.mask)  # type: ignore[attr-defined]
            self.mask.clear_all()
        else:
            put(self.mask, self.holder.mask_box)  # type: ignore[attr-defined]
            self.holder.mask_box = None  # type: ignore[attr-defined]
