"""The task panel as a first-time user meets it: Run turns into Queue while a job runs and the panel
counts what waits, each task shows only its own controls, an inpaint result clears the mask (undo
brings it back), "Done" only once the result is drawn, nothing of the previous image stays after
opening another, the time left appears on longer jobs, and model names are never cut off."""

from __future__ import annotations

import re
from dataclasses import replace

import fake_engines
import numpy as np
import pytest
from gui_helpers import drag, make_image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gptstudio.app.convert import qimage_to_rgb
from gptstudio.app.task_progress import RunBox, time_left_text
from gptstudio.core.imageio import from_array, save_image
from gptstudio.models import registry


def canvas_rgb(window) -> np.ndarray:  # type: ignore[no-untyped-def]
    return qimage_to_rgb(window.canvas.image_item.image())


@pytest.fixture
def short_invert():  # type: ignore[no-untyped-def]
    fake_engines.SlowInvert.steps = 8
    yield
    fake_engines.SlowInvert.steps = 40


def click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    """Click a button in its middle, or a check box on its box (as a person does: a check box only
    reacts on its box and label, and a wide row's middle may be empty space)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QCheckBox

    if isinstance(button, QCheckBox):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))
    else:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_run_while_busy_queues_each_job_as_an_edit(qtbot, window, image_path, short_invert) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    original = canvas_rgb(window)
    panel = window.panel
    panel.set_task("denoise")
    assert panel.set_model("test-slow-invert")
    assert panel.run_button.text() == "Run"
    click(qtbot, panel.run_button)
    assert panel.run_button.text() == "Queue", "while busy, the button says what a click does"
    assert panel.run_button.isEnabled()
    click(qtbot, panel.run_button)
    click(qtbot, panel.run_button)
    assert panel.queue_label.isVisible() and panel.queue_label.text() == "2 jobs waiting"
    qtbot.waitUntil(lambda: window.undo_stack.count() == 3, timeout=30000)
    qtbot.waitUntil(lambda: not window.controller.active_jobs(), timeout=10000)
    assert panel.run_button.text() == "Run" and not panel.queue_label.isVisible()
    # three inversions, each applied to the image as it was when it landed
    inverted = 255 - original.astype(int)
    assert np.abs(canvas_rgb(window).astype(int) - inverted).max() <= 1
    assert [h["task"] for h in window.document.history] == ["denoise"] * 3
    window.act_undo.trigger()
    assert np.abs(canvas_rgb(window).astype(int) - original.astype(int)).max() <= 1
    window.act_undo.trigger()
    assert np.abs(canvas_rgb(window).astype(int) - inverted).max() <= 1
    window.act_undo.trigger()
    assert np.array_equal(canvas_rgb(window), original)


def test_denoise_and_restore_show_their_own_controls(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    info = replace(
        fake_engines.SLOW_INFO,
        id="test-both",
        name="Both (test)",
        tasks=("denoise", "restore"),
        uses=frozenset({"strength", "mode"}),
    )
    registry.register(registry.ModelEntry(info, lambda device: fake_engines.SlowInvert(), priority=300))
    panel = window.panel
    panel.refresh_tasks()
    panel.task_combo.setFocus()
    panel.set_task("restore")
    assert panel.set_model("test-both")
    assert panel.visible_parameters() == {"mode", "strength"}, "Restore has its Repair choice"
    assert panel.form.labelForField(panel.mode_combo).text() == "Repair"
    panel.set_task("denoise")
    assert panel.set_model("test-both")
    assert panel.visible_parameters() == {"strength"}, "Denoise has no modes, whatever the model uses"
    assert not panel.mode_combo.isVisible()
    panel.set_task("upscale")
    assert "scale" in panel.visible_parameters() and "strength" not in panel.visible_parameters()


def test_inpaint_result_clears_the_mask_and_undo_brings_it_back(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    panel = window.panel
    panel.set_task("inpaint")
    panel.set_model("test-green-fill")
    window.tools.set_size(24)
    window.tools.set_hardness(1.0)
    drag(window, [(100, 120), (220, 120)])
    painted = window.canvas.mask_item.alpha()
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=15000)
    assert tuple(canvas_rgb(window)[120, 160]) == (0, 255, 0)
    assert window.canvas.mask_item.is_empty(), "the result is visible, not painted over"
    window.act_undo.trigger()
    assert np.array_equal(window.canvas.mask_item.alpha(), painted), "undo gives the mask back as it was"
    window.act_redo.trigger()
    assert window.canvas.mask_item.is_empty()
    assert tuple(canvas_rgb(window)[120, 160]) == (0, 255, 0)


def test_fill_transparent_area_makes_it_opaque(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rgba = np.zeros((60, 80, 4), np.float32)
    rgba[..., :3] = 0.5
    rgba[..., 3] = 1.0
    rgba[20:40, 30:50, 3] = 0.0  # erased to transparency in another editor
    path = tmp_path / "hole.png"
    save_image(from_array(rgba), path, overwrite=True)
    window.open_path(path)
    panel = window.panel
    panel.set_task("inpaint")
    panel.set_model("test-green-fill")
    assert panel.fill_transparent.isVisible() and panel.fill_transparent.isEnabled()
    click(qtbot, panel.fill_transparent)
    click(qtbot, panel.run_button)  # no mask painted: the transparent area is the hole
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=15000)
    alpha = window.document.image.alpha
    assert alpha is not None and alpha[30, 40] == pytest.approx(1.0), "the filled area is opaque"
    assert window.canvas.image_item.image().pixelColor(40, 30).alpha() == 255
    assert window.document.history[-1].get("mask_from_alpha") is True
    # an opaque image offers no such choice
    window.undo_stack.setClean()  # as if saved: no unsaved-changes prompt
    window.open_path(make_image(tmp_path / "opaque.png"))
    assert not panel.fill_transparent.isEnabled() and not panel.fill_transparent.isChecked()


def test_done_after_drawing_and_new_image_clean(qtbot, window, image_path, short_invert) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    panel = window.panel
    panel.set_task("denoise")
    panel.set_model("test-slow-invert")
    seen: list[tuple[int, int, bool]] = []
    panel.progress.valueChanged.connect(
        lambda v: seen.append((v, window.undo_stack.count(), panel.cancel_button.isEnabled()))
    )
    said_done: list[int] = []
    original_set = panel.status.setText

    def watch(text: str) -> None:
        if "done" in text.lower():
            said_done.append(window.undo_stack.count())
        original_set(text)

    panel.status.setText = watch  # type: ignore[method-assign]
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=15000)
    qtbot.waitUntil(lambda: panel.progress.value() == 1000, timeout=5000)
    full = [s for s in seen if s[0] >= 1000]
    assert full and all(count == 1 and not cancel for _v, count, cancel in full), seen
    assert said_done and all(count == 1 for count in said_done), "'done' only once the result is drawn"
    assert panel.preview.isVisible()
    window.undo_stack.setClean()  # as if saved: no unsaved-changes prompt
    window.open_path(make_image(image_path.with_name("other.png"), 200, 150))
    assert panel.status.text() == "Ready"
    assert not panel.preview.isVisible() and panel.preview.pixmap().isNull()
    assert panel.progress.value() == 0


def test_time_left_appears_once_the_rate_is_known(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert time_left_text(0.42, 8.7) == "42 % — about 12 s left"
    assert time_left_text(0.1, 60.0) == "10 % — about 9 min left"
    monkeypatch.setattr(RunBox, "eta_after_s", 0.5)
    window.open_path(image_path)
    panel = window.panel
    panel.set_task("denoise")
    panel.set_model("test-slow-invert")
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10000)
    assert not panel.progress.isTextVisible(), "no estimate in the first seconds"
    qtbot.waitUntil(lambda: panel.progress.isTextVisible(), timeout=10000)
    assert re.fullmatch(r"\d+ % — about \d+ s left", panel.progress.text()), panel.progress.text()
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: not window.controller.active_jobs(), timeout=10000)
    assert not panel.progress.isTextVisible()


def test_long_model_names_are_elided_in_the_middle_with_a_tooltip(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = window.panel
    panel.set_task("upscale")
    combo = panel.model_combo
    full = "Lanczos resampling (classical)"
    assert combo.findText(full) >= 0
    combo.setCurrentIndex(combo.findText(full))
    combo.setFixedWidth(120)
    qtbot.wait(10)
    shown = combo.displayed_text()
    assert "…" in shown and shown[0] == full[0] and shown[-1] == full[-1], shown
    assert combo.toolTip() == full
    click(qtbot, combo)
    qtbot.waitUntil(lambda: combo.view().isVisible(), timeout=5000)
    needed = combo.view().fontMetrics().horizontalAdvance(full)
    assert combo.view().width() >= needed, "the list is wide enough for the longest name"
    QTest.keyClick(combo.view(), Qt.Key.Key_Escape)


def test_mask_limits_denoise_and_panel_says_so(qtbot, window, image_path, short_invert) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    original = canvas_rgb(window)
    panel = window.panel
    panel.set_task("denoise")
    panel.set_model("test-slow-invert")
    qtbot.waitUntil(lambda: panel.applies_to.text() == "the whole image", timeout=5000)
    assert "feather" not in panel.visible_parameters()
    window.tools.set_size(24)
    window.tools.set_hardness(1.0)
    drag(window, [(100, 120), (220, 120)])
    qtbot.waitUntil(lambda: panel.applies_to.text().startswith("the masked area"), timeout=5000)
    assert panel.applies_to.text() == "the masked area (feathered 4 px)"
    assert "feather" in panel.visible_parameters()
    panel.feather.setValue(8)
    assert panel.applies_to.text() == "the masked area (feathered 8 px)"
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=15000)
    result = canvas_rgb(window)
    assert np.abs(result[120, 160].astype(int) - (255 - original[120, 160].astype(int))).max() <= 1
    assert np.array_equal(result[20:60], original[20:60]), "outside the mask nothing changes"
    assert window.document.history[-1]["masked"] is True
    assert window.document.history[-1]["feather"] == 8.0
