"""Whole-mask commands (clear, fill, invert, from the selection, from a file) as undoable edits.

Kept apart from the window so they need nothing but a canvas and an undo stack: each command is
one :class:`MaskReplaceCommand` (fill, clear and invert: a :class:`MaskOpCommand`, done in place
by Qt so a 24-MP mask stays under the 100 ms stall limit), so Undo covers it like a brush stroke.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QImage, QPainter, QPainterPath, QUndoStack

from gptstudio.app.canvas import Canvas
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.undo_commands import MaskOpCommand, MaskReplaceCommand
from gptstudio.core.errors import MaskError
from gptstudio.core.masks import load_mask


class MaskCommands(QObject):
    """The Edit menu's mask entries, acting on ``canvas``'s mask through ``undo_stack``."""

    def __init__(self, canvas: Canvas, undo_stack: QUndoStack, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas, self.undo_stack = canvas, undo_stack

    def _replace(self, alpha: np.ndarray, text: str) -> None:
        if self.canvas.mask_item is not None:
            self.undo_stack.push(MaskReplaceCommand(self.canvas.mask_item, alpha, text))

    def _op(self, op: str, text: str) -> None:
        if self.canvas.mask_item is not None:
            self.undo_stack.push(MaskOpCommand(self.canvas.mask_item, op, text))

    def clear(self) -> None:
        self._op("clear", "Clear mask")

    def fill(self) -> None:
        self._op("fill", "Fill mask")

    def invert(self) -> None:
        self._op("invert", "Invert mask")

    def from_selection(self) -> None:
        """Rasterise the selection path (antialiased) into the mask, then drop the selection."""
        if self.canvas.mask_item is None or self.canvas.selection.isEmpty():
            return
        w, h = self.canvas.image_size()
        image = QImage(w, h, QImage.Format.Format_Grayscale8)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillPath(self.canvas.selection, Qt.GlobalColor.white)
        painter.end()
        bpl = image.bytesPerLine()
        alpha = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)[:, :w].copy()
        self._replace(alpha, "Mask from selection")
        self.deselect()

    def deselect(self) -> None:
        self.canvas.set_selection(QPainterPath())

    def load(self, path: str | Path, undoable: bool = True) -> bool:
        """A mask image from a file (white = change), resized to the image; errors are shown."""
        if self.canvas.mask_item is None:
            return False
        try:
            mask = load_mask(path, self.canvas.image_size())
        except MaskError as exc:
            error_dialog(self.canvas.window(), exc)
            return False
        alpha = (np.clip(mask, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        if undoable:
            self.undo_stack.push(MaskReplaceCommand(self.canvas.mask_item, alpha, "Load mask"))
        else:
            self.canvas.mask_item.set_alpha(alpha)
        return True
