"""Generate from the task panel with a tiny aMUSEd: the rows a person sees, a new picture that lands
as an undoable edit, a variation that keeps the picture's size, Reuse parameters, and a picture made
on an empty window that opens as an untitled document."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

sys.path.insert(0, str(Path(__file__).parents[1] / "engines"))
import diffusers_tiny as tiny
from diffusers_tiny import one_torch_thread  # noqa: F401  (autouse fixture)

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


def answer_next_box(button) -> list[str]:  # type: ignore[no-untyped-def]
    """Click ``button`` in the next modal message box, as a person would; returns its text."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, click)

    QTimer.singleShot(20, click)
    return seen


def test_generate_on_an_empty_window_opens_an_untitled_picture(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No picture open: Run with Generate makes one, which is then a document like any other —
    Untitled, unsaved (the close prompt asks), autosaved, and Save asks where to write it."""
    from gui_helpers import Gate, wait_while_held
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from gptstudio.app.document import read_snapshot
    from gptstudio.core.imageio import load_image, read_params
    from gptstudio.engines.diffusers.engine import DiffusersEngine

    tiny.install("amused", "tiny-amused")
    panel = window.panel
    panel.refresh_tasks()
    assert window.document is None
    pick(panel.task_combo, "Denoise")
    assert not window.act_run.isEnabled(), "a filter needs a picture"
    pick(panel.task_combo, "Generate")
    assert window.act_run.isEnabled(), "Generate needs none"
    assert panel.set_model("tiny-amused")
    assert not panel.rows.generate.vary.isEnabled(), "nothing is open to vary"
    qtbot.keyClicks(panel.prompt, "a red fox")
    panel.steps.setValue(2)
    panel.rows.generate.width.setValue(48)
    panel.rows.generate.height.setValue(32)

    gate = Gate(DiffusersEngine.generate)
    monkeypatch.setattr(DiffusersEngine, "generate", lambda self, **kw: gate(self, **kw))
    window.canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Run Task
    wait_while_held(qtbot, gate)  # the window stays live while the model runs on the worker
    qtbot.waitUntil(lambda: window.document is not None, timeout=30000)

    doc = window.document
    assert doc.image.size == (48, 32)
    assert doc.title == "Untitled" and window.windowTitle().startswith("Untitled")
    assert window.isWindowModified() and window.is_dirty(), "a new picture is unsaved work"
    assert doc.history[-1]["prompt"] == "a red fox" and doc.history[-1]["task"] == "generate"
    assert panel.rows.generate.vary.isEnabled(), "now there is a picture to vary"

    assert window.autosaver.save_now() and window.autosaver.wait(30)
    snap = read_snapshot(window.autosaver.folder)
    assert snap.to_document().title == "Untitled" and snap.image.size == (48, 32)
    assert snap.history[-1]["prompt"] == "a red fox", "recovery brings the picture and its parameters"

    seen = answer_next_box(QMessageBox.StandardButton.Cancel)
    window.close()
    assert seen and "Untitled" in seen[0], "closing asks about the unsaved picture"
    assert window.isVisible() and window.document is doc

    asked: list[str] = []

    def choose(parent, caption, start, filters):  # type: ignore[no-untyped-def]
        asked.append(start)
        return str(tmp_path / "fox.png"), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    window.act_save.trigger()
    assert asked and asked[0].endswith("untitled.ora"), "Save asks where the first time"
    qtbot.waitUntil(lambda: not window.is_dirty(), timeout=30000)
    assert window.windowTitle().startswith("fox.png")
    assert load_image(tmp_path / "fox.png").size == (48, 32)
    assert read_params(tmp_path / "fox.png")["prompt"] == "a red fox"


def test_new_picture_never_replaces_a_photo_opened_meanwhile(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gui_helpers import Gate

    from gptstudio.engines.diffusers.engine import DiffusersEngine

    tiny.install("amused", "tiny-amused")
    panel = window.panel
    panel.refresh_tasks()
    pick(panel.task_combo, "Generate")
    assert panel.set_model("tiny-amused")
    qtbot.keyClicks(panel.prompt, "a red fox")
    panel.steps.setValue(2)
    gate = Gate(DiffusersEngine.generate)
    monkeypatch.setattr(DiffusersEngine, "generate", lambda self, **kw: gate(self, **kw))
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(gate.entered.is_set, timeout=20000)
    assert window.open_path(image_path)
    gate.released.set()
    qtbot.waitUntil(lambda: not window.controller.active_jobs(), timeout=30000)
    qtbot.wait(50)  # let a late result reach the window, if one were coming
    assert window.document is not None and window.document.image.size == (320, 240)
    assert window.document.source_path == image_path and not window.is_dirty()


def test_a_trained_lora_is_picked_in_the_generate_panel_changes_the_picture_and_is_reused(  # type: ignore[no-untyped-def]
    qtbot, window, image_path, tmp_path
) -> None:
    from gptstudio.models.store import Store

    base = tiny.install("sd3", "tiny-sd3")
    tiny.install("amused", "tiny-amused")
    lora = tiny.train_lora(base, tmp_path / "dog")
    panel = window.panel
    panel.refresh_tasks()
    window.open_path(image_path)
    pick(panel.task_combo, "Generate")
    assert panel.set_model("tiny-amused")
    assert "lora" not in panel.visible_parameters(), "an SD3 LoRA is not offered for aMUSEd"
    assert panel.set_model(base)
    assert "lora" in panel.visible_parameters()
    rows = panel.rows.generate
    assert not rows.lora_strength.isEnabled(), "no strength without a LoRA"

    qtbot.keyClicks(panel.prompt, "sks dog")
    panel.steps.setValue(2)
    rows.width.setValue(32)
    rows.height.setValue(32)
    panel.seed.setValue(11)
    panel.seed_lock.setChecked(True)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=30000)
    plain = window.document.image.rgb.copy()
    assert "lora" not in window.document.history[-1]

    pick(rows.lora, "dog")
    assert rows.lora_strength.isEnabled()
    rows.lora_strength.setValue(1.5)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=30000)
    params = window.document.history[-1]
    assert params["lora"] == lora and params["lora_strength"] == 1.5 and params["seed"] == 11
    assert abs(window.document.image.rgb - plain).max() > 1e-3, "the same seed with the LoRA differs"

    pick(rows.lora, "No LoRA")
    rows.lora_strength.setValue(1.0)
    assert panel.apply_params(params) == []
    assert rows.lora.currentData() == lora and rows.lora_strength.value() == 1.5

    # Removed from the store: Reuse says so instead of quietly running without it.
    Store().remove(lora)
    panel.refresh_tasks()
    assert "lora" not in panel.visible_parameters()
    panel.show_file_params(params)
    qtbot.mouseClick(panel.params_banner.reuse_button, Qt.MouseButton.LeftButton)
    assert f"LoRA {lora}" in panel.params_banner.label.text() and not panel.params_banner.isHidden()
