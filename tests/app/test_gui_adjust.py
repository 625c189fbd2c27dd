"""The Adjust panel driven with pytest-qt: a live preview that leaves the document alone, Apply as
one undoable edit with its parameters, exact undo (16-bit too), a mask limiting it, auto levels
and the grey-point pick."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gui_helpers import scene_to_view
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gptstudio.core.adjust import Adjustments, apply_adjustments, auto_levels
from gptstudio.core.imageio import from_array, save_image, to_uint8


def grey_ramp(path: Path, sixteen: bool = False) -> Path:
    x = np.tile(np.linspace(0.2, 0.7, 160, dtype=np.float32), (120, 1))
    rgb = np.dstack([x, x * 0.9, x * 0.8])
    arr = (rgb * 65535 + 0.5).astype(np.uint16) if sixteen else (rgb * 255 + 0.5).astype(np.uint8)
    save_image(from_array(arr), path, overwrite=True)
    return path


def show_panel(window) -> None:  # type: ignore[no-untyped-def]
    window.act_adjust.trigger()  # Tools > Adjust…
    assert window.adjust_dock.isVisible()


def settle(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.wait(80)  # the panel's debounce
    qtbot.waitUntil(lambda: not window.adjust.busy() and not window.adjust._timer.isActive(), timeout=20000)


def test_preview_then_apply_then_undo_exactly(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(grey_ramp(tmp_path / "ramp.png"))
    show_panel(window)
    doc = window.document
    before = doc.image.rgb.copy()
    panel = window.adjust_panel
    panel.brightness.setValue(20)  # +0.1 of the range
    panel.contrast.setValue(-50)  # factor 0.5
    settle(qtbot, window)
    assert window.adjust.previewing()
    assert np.array_equal(window.document.image.rgb, before), "the preview leaves the document alone"
    assert panel.histogram.counts is not None and panel.histogram.counts.sum() > 0
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=20000)
    want = to_uint8(apply_adjustments(before, Adjustments(brightness=0.1, contrast=0.5)))
    assert np.array_equal(to_uint8(window.document.image.rgb), want)
    params = window.document.history[-1]
    assert params["task"] == "adjust" and params["brightness"] == 0.1 and params["contrast"] == 0.5
    assert window.undo_stack.text(0) == "Adjust"
    assert panel.brightness.value() == 0 and not window.adjust.previewing()  # reset after applying
    window.undo_stack.undo()
    assert np.array_equal(window.document.image.rgb, before)
    assert window.document.history == []
    window.undo_stack.redo()
    assert np.array_equal(to_uint8(window.document.image.rgb), want)


def test_a_painted_mask_limits_the_adjustment(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(grey_ramp(tmp_path / "ramp.png"))
    show_panel(window)
    alpha = np.zeros((120, 160), np.uint8)
    alpha[:, 100:] = 255
    window.canvas.mask_item.set_alpha(alpha)
    before = window.document.image.rgb.copy()
    window.adjust_panel.saturation.setValue(-100)
    settle(qtbot, window)
    window.adjust.apply()
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=20000)
    after = window.document.image.rgb
    assert np.array_equal(after[:, :80], before[:, :80])  # far from the mask: untouched
    assert np.ptp(after[60, 140]) < 1e-6  # inside: grey
    assert window.document.history[-1]["masked"] is True
    window.undo_stack.undo()
    assert np.array_equal(window.document.image.rgb, before)


def test_sixteen_bit_document_stays_sixteen_bit(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(grey_ramp(tmp_path / "ramp16.png", sixteen=True))
    show_panel(window)
    doc = window.document
    assert doc.image.bit_depth == 16
    before = doc.image.rgb.copy()
    window.adjust_panel.gamma.setValue(1.5)
    window.adjust.apply()
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=20000)
    image = window.document.image
    assert image.bit_depth == 16
    levels = np.unique(np.round(image.rgb[..., 0] * 65535))
    assert np.allclose(image.rgb * 65535, np.round(image.rgb * 65535), atol=1e-2)  # 16-bit values
    assert levels.size == np.unique(np.round(before[..., 0] * 65535)).size  # no 8-bit banding
    window.undo_stack.undo()
    assert np.array_equal(window.document.image.rgb, before)


def test_auto_levels_and_grey_point(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(grey_ramp(tmp_path / "ramp.png"))
    show_panel(window)
    panel = window.adjust_panel
    qtbot.mouseClick(panel.auto_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.black.value() > 0, timeout=20000)
    black, white = auto_levels(window.document.image.rgb)  # what `gptstudio adjust --auto-levels` uses
    assert (panel.black.value(), panel.white.value()) == (round(black * 255), round(white * 255))
    assert 40 < panel.black.value() < panel.white.value() < 200
    assert panel.adjustments().auto_levels
    qtbot.mouseClick(panel.pick_button, Qt.MouseButton.LeftButton)
    viewport = window.canvas.viewport()
    QTest.mouseClick(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, scene_to_view(window, 80, 60)
    )
    gains = panel.adjustments().wb_gains
    assert gains[2] > gains[0] > 0  # the ramp is warm: blue is raised most
    assert window.undo_stack.count() == 0  # picking is not an edit, and the click painted nothing
    assert not window.canvas.mask_item.alpha().any()
    settle(qtbot, window)


def test_apply_computes_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gui_helpers import Gate, wait_while_held

    import gptstudio.tasks.adjust as adjust_task

    assert window.open_path(grey_ramp(tmp_path / "ramp.png"))
    show_panel(window)
    gate = Gate(adjust_task.adjust)
    monkeypatch.setattr(adjust_task, "adjust", gate)
    window.adjust_panel.brightness.setValue(-30)
    qtbot.mouseClick(window.adjust_panel.apply_button, Qt.MouseButton.LeftButton)
    wait_while_held(qtbot, gate)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=20000)
    settle(qtbot, window)
