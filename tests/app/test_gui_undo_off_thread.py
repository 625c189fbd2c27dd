"""Undo and redo of a whole-image result rebuild the image off the GUI thread: the window keeps
painting meanwhile, user input waits, and a command pushed during the step lands right after it."""

from __future__ import annotations

import fake_engines
import numpy as np
from gui_helpers import Gate, wait_while_held
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QUndoCommand

from gptstudio.app import history
from gptstudio.app.convert import qimage_to_rgb


def test_whole_image_undo_rebuilds_off_the_gui_thread(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fake_engines.SlowInvert, "steps", 2)
    window.open_path(image_path)
    original = qimage_to_rgb(window.canvas.image_item.image())
    window.panel.set_task("denoise")
    assert window.panel.set_model("test-slow-invert")
    qtbot.mouseClick(window.panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=20000)
    inverted = qimage_to_rgb(window.canvas.image_item.image())
    assert not np.array_equal(inverted, original)

    gate = Gate(history.rebuilt)
    monkeypatch.setattr(history, "rebuilt", gate)
    seen: list[object] = []

    def during_the_step() -> None:
        try:
            qtbot.waitUntil(gate.entered.is_set, timeout=20000)
            seen.append(window.undo_stack.busy())
            window.undo_stack.push(QUndoCommand("pushed while busy"))
            seen.append(window.undo_stack.count())  # held back, not on the stack yet
            wait_while_held(qtbot, gate)
        finally:
            gate.released.set()

    QTimer.singleShot(0, during_the_step)
    window.undo_stack.undo()
    assert seen == [True, 1]
    assert np.array_equal(qimage_to_rgb(window.canvas.image_item.image()), original), "undo is exact"
    assert window.document.history == []
    stack = window.undo_stack
    qtbot.waitUntil(lambda: stack.count() == 1 and stack.text(0) == "pushed while busy")  # after the step
