"""Edit > Extend Canvas…: the canvas grows by the chosen borders, the new border is the mask, the
panel switches to Inpaint, Run fills the border, and Undo gives back the old size and mask."""

from __future__ import annotations

import numpy as np
from gui_helpers import drag
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from gptstudio.app.convert import qimage_to_rgb
from gptstudio.app.extend_canvas import ExtendCanvasDialog


def _dialog() -> ExtendCanvasDialog:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, ExtendCanvasDialog) and w.isVisible()]
    assert found, "the Extend Canvas dialog is open"
    return found[0]


def test_extend_canvas_masks_the_border_and_undo_restores(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.tools.set_size(20)
    window.tools.set_hardness(1.0)
    drag(window, [(40, 40), (80, 40)])  # a stroke before: it moves with the picture
    original = qimage_to_rgb(window.canvas.image_item.image())
    window.panel.set_task("denoise")

    window.act_extend_canvas.trigger()
    dialog = _dialog()
    assert dialog.size_note.text() == "New size: 832 × 240 px"  # 256 px left and right by default
    dialog.spins["left"].setValue(0)
    dialog.spins["top"].setValue(32)
    assert dialog.size_note.text() == "New size: 576 × 272 px"
    for side in ("top", "right"):
        dialog.spins[side].setValue(0)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled(), "nothing to add: OK is off"
    dialog.spins["right"].setValue(64)
    dialog.spins["bottom"].setValue(16)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.canvas.image_size() == (384, 256), timeout=15000)

    assert window.document.image.size == (384, 256)
    assert window.document.history[-1] == {"task": "extend", "model": "none", "extend": [0, 0, 64, 16]}
    mask = window.canvas.mask_item.alpha()
    assert mask[:, 320:].min() == 255 and mask[240:, :].min() == 255, "the new border is the mask"
    assert mask[100, 100] == 0 and mask[40, 60] == 255, "the old picture is unmasked but its stroke stays"
    shown = qimage_to_rgb(window.canvas.image_item.image())
    assert np.array_equal(shown[:240, :320], original), "the picture itself is unchanged"
    assert window.panel.current_task() == "inpaint", "ready to Run the fill"

    window.act_undo.trigger()
    assert window.canvas.image_size() == (320, 240)
    assert np.array_equal(qimage_to_rgb(window.canvas.image_item.image()), original)
    assert window.document.history == []
    assert window.canvas.mask_item.alpha()[40, 60] == 255 and window.canvas.mask_item.alpha()[100, 100] == 0
    window.act_redo.trigger()
    assert window.canvas.image_size() == (384, 256)


def test_extend_canvas_then_inpaint_fills_the_border(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    assert window.extend_canvas.extend(16, 0, 0, 0)
    qtbot.waitUntil(lambda: window.canvas.image_size() == (336, 240), timeout=15000)
    assert window.panel.set_model("classical-telea")
    before = qimage_to_rgb(window.canvas.image_item.image())
    qtbot.mouseClick(window.panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.document.history[-1].get("task") == "inpaint", timeout=15000)
    after = qimage_to_rgb(window.canvas.image_item.image())
    assert after.shape == before.shape
    assert window.document.history[-2]["task"] == "extend"
    assert not window.canvas.mask_item.alpha().any(), "the fill used up the mask"
