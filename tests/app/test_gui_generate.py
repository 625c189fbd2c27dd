"""Generate from the task panel with a tiny aMUSEd: the rows a person sees, a new picture that lands
as an undoable edit, a variation that keeps the picture's size, and Reuse parameters."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

sys.path.insert(0, str(Path(__file__).parents[1] / "engines"))
import diffusers_tiny as tiny

pytest.importorskip("diffusers")


def pick(combo, label: str) -> None:  # type: ignore[no-untyped-def]
    combo.setFocus()
    target = combo.findText(label)
    assert target >= 0, f"{label!r} is not offered"
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        QTest.keyClick(combo, key)


def test_generate_a_new_picture_then_a_variation_and_undo(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    tiny.install("amused", "tiny-amused")
    tiny.install("pixart-sigma", "tiny-pixart")
    panel = window.panel
    panel.refresh_tasks()
    window.open_path(image_path)
    pick(panel.task_combo, "Generate")
    assert panel.set_model("tiny-pixart")
    assert "variation" not in panel.visible_parameters(), "PixArt-Σ cannot vary a picture"
    assert panel.set_model("tiny-amused")
    shown = panel.visible_parameters()
    assert {"prompt", "negative_prompt", "seed", "steps", "guidance", "size", "variation"} <= shown
    assert "strength" not in shown, "Strength belongs to a variation"
    assert panel.rows.generate.memory.text().startswith("Needs about"), "the memory shown before Run"

    qtbot.keyClicks(panel.prompt, "a red fox")
    panel.steps.setValue(2)
    panel.rows.generate.width.setValue(48)
    panel.rows.generate.height.setValue(32)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=30000)
    assert window.document.image.size == (48, 32)
    params = window.document.history[-1]
    assert params["task"] == "generate" and params["prompt"] == "a red fox" and params["variation"] is False

    window.act_undo.trigger()
    assert window.document.image.size == (320, 240)

    vary = panel.rows.generate.vary
    qtbot.mouseClick(vary, Qt.MouseButton.LeftButton, pos=QPoint(8, vary.height() // 2))  # its box
    assert "strength" in panel.visible_parameters()
    panel.strength.setValue(0.5)
    panel.steps.setValue(4)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1 and bool(window.document.history), timeout=30000)
    assert window.document.image.size == (320, 240), "a variation keeps the picture's size"
    varied = window.document.history[-1]
    assert varied["variation"] is True and varied["strength"] == 0.5

    panel.rows.generate.vary.setChecked(False)
    panel.rows.generate.width.setValue(512)
    assert panel.apply_params(varied) == []
    assert panel.rows.generate.vary.isChecked() and panel.strength.value() == 0.5
