"""Upscaling from the task panel: the canvas grows, the mask follows, and Undo gives back the image
(and the mask) at the old size, with the strokes made before still undoable."""

from __future__ import annotations

import numpy as np
from gui_helpers import drag
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gptstudio.app.convert import qimage_to_rgb


def canvas_rgb(window) -> np.ndarray:  # type: ignore[no-untyped-def]
    return qimage_to_rgb(window.canvas.image_item.image())


def pick(combo, label: str) -> None:  # type: ignore[no-untyped-def]
    combo.setFocus()
    target = combo.findText(label)
    assert target >= 0, f"{label!r} is not offered"
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        QTest.keyClick(combo, key)


def test_upscale_x2_doubles_the_canvas_and_undo_restores_it(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    panel = window.panel
    window.tools.set_size(20)
    window.tools.set_hardness(1.0)
    drag(window, [(40, 40), (80, 40)])  # a stroke before the upscale
    original = canvas_rgb(window)
    pick(panel.task_combo, "Upscale")
    assert panel.visible_parameters() >= {"scale"} and "strength" not in panel.visible_parameters()
    assert panel.set_model("classical-lanczos")
    pick(panel.scale_combo, "×2")
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=15000)

    assert window.canvas.image_size() == (640, 480)
    assert window.document.image.size == (640, 480)
    assert window.size_label.text() == "640×480"
    assert window.document.history[-1]["task"] == "upscale"
    mask = window.canvas.mask_item.alpha()
    assert mask.shape == (480, 640) and mask[80, 120] == 255 and mask[300, 300] == 0, "the mask follows"
    big = canvas_rgb(window)
    assert np.abs(big[::2, ::2].astype(int) - original.astype(int)).mean() < 8, "the same picture, bigger"

    window.act_undo.trigger()
    assert window.canvas.image_size() == (320, 240)
    assert np.array_equal(canvas_rgb(window), original)
    assert window.document.image.size == (320, 240) and window.document.history == []
    assert window.canvas.mask_item.alpha()[40, 60] == 255
    window.act_redo.trigger()
    assert window.canvas.image_size() == (640, 480)
    window.act_undo.trigger()
    window.act_undo.trigger()  # the stroke made before the upscale
    assert window.canvas.mask_item.is_empty()


def test_custom_factor_and_compare_after_upscale(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    panel = window.panel
    pick(panel.task_combo, "Upscale")
    assert not panel.scale_custom.isVisible()
    pick(panel.scale_combo, "Custom")
    assert panel.scale_custom.isVisible()
    panel.scale_custom.setValue(1.5)
    window.act_run.trigger()
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=15000)
    assert window.canvas.image_size() == (480, 360)
    window.act_compare.trigger()
    assert window.canvas.before_item.image().size() == window.canvas.image_item.image().size(), (
        "Compare shows the original stretched over the bigger result"
    )
