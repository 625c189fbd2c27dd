"""The mask commands need only a canvas and an undo stack (no window): each is one undoable edit."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPainterPath, QUndoStack

from gptstudio.app.canvas import Canvas
from gptstudio.app.mask_commands import MaskCommands
from gptstudio.app.tools import ToolSettings


def test_mask_commands_on_a_bare_canvas(qtbot) -> None:  # type: ignore[no-untyped-def]
    stack = QUndoStack()
    canvas = Canvas(ToolSettings(), stack)
    qtbot.addWidget(canvas)
    image = QImage(40, 30, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0xFF808080)
    canvas.set_images(image, image)
    masks = MaskCommands(canvas, stack)
    masks.fill()
    assert canvas.mask_item.alpha().min() == 255
    masks.invert()
    assert canvas.mask_item.is_empty()
    path = QPainterPath()
    path.addRect(5, 5, 10, 10)
    canvas.set_selection(path)
    masks.from_selection()
    alpha = canvas.mask_item.alpha()
    assert alpha[10, 10] == 255 and alpha[25, 35] == 0 and canvas.selection.isEmpty()
    texts = [stack.text(i) for i in range(stack.count())]
    assert texts == ["Fill mask", "Invert mask", "Mask from selection"]
    stack.undo()
    assert canvas.mask_item.is_empty()
    masks.clear()
    assert np.count_nonzero(canvas.mask_item.alpha()) == 0
