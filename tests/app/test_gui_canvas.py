"""Painting the mask like a person: drags with the brush, eraser, rectangle and lasso, undo and redo."""

from __future__ import annotations

import numpy as np
from gui_helpers import drag, make_image, scene_to_view
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest


def test_open_paint_undo_redo(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(image_path)
    assert window.canvas.image_size() == (320, 240)
    assert window.canvas.mask_item.is_empty()
    window.tools.set_size(20)
    window.tools.set_hardness(1.0)
    drag(window, [(40, 120), (100, 120), (160, 120), (220, 120)])
    mask = window.canvas.mask_item.alpha()
    assert mask[120, 40:220].min() == 255, "the stroke must cover the dragged line"
    assert mask[60, :].max() == 0 and mask[200, :].max() == 0, "nothing painted away from the stroke"
    assert window.is_dirty() and window.isWindowModified()
    window.act_undo.trigger()
    assert window.canvas.mask_item.is_empty()
    window.act_redo.trigger()
    assert np.array_equal(window.canvas.mask_item.alpha(), mask)


def test_eraser_and_brush_size_keys(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.tools.set_size(30)
    before = window.tools.size
    QTest.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.tools.size > before
    assert window.size_box.value() == round(window.tools.size)
    assert window.canvas.outline.radius == window.tools.size / 2
    QTest.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    assert window.tools.size < before
    window.tools.set_hardness(1.0)
    drag(window, [(40, 100), (280, 100)])
    QTest.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.tools.tool.value == "eraser"
    drag(window, [(150, 60), (150, 140)])
    mask = window.canvas.mask_item.alpha()
    assert mask[100, 60] == 255 and mask[100, 260] == 255
    assert mask[100, 150] == 0, "the eraser cut through the stroke"


def test_soft_brush_has_a_soft_edge(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.tools.set_size(60)
    window.tools.set_hardness(0.0)
    drag(window, [(160, 120), (161, 120)])
    row = window.canvas.mask_item.alpha()[120, 130:192]
    assert row.max() == 255 or row.max() > 200
    assert 0 < row[3] < row[30], "a soft brush fades towards its edge"


def test_rectangle_lasso_add_subtract_and_select(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.tool_actions[window.tools.tool.RECT].trigger()
    drag(window, [(20, 20), (120, 100)])
    mask = window.canvas.mask_item.alpha()
    assert mask[60, 70] == 255 and mask[150, 200] == 0
    window.shape_combo.setCurrentIndex(1)  # subtract
    drag(window, [(60, 40), (90, 80)])
    mask = window.canvas.mask_item.alpha()
    assert mask[60, 75] == 0 and mask[30, 30] == 255
    window.shape_combo.setCurrentIndex(0)
    QTest.keyClick(window.canvas, Qt.Key.Key_L)
    drag(window, [(200, 150), (300, 150), (300, 230), (200, 230)])
    assert window.canvas.mask_item.alpha()[190, 250] == 255, "the lasso filled its inside"
    assert window.undo_stack.count() == 3
    window.shape_combo.setCurrentIndex(2)  # select
    QTest.keyClick(window.canvas, Qt.Key.Key_M)
    drag(window, [(10, 150), (60, 200)])
    assert window.act_mask_from_selection.isEnabled()
    window.act_mask_from_selection.trigger()
    mask = window.canvas.mask_item.alpha()
    assert mask[175, 35] == 255 and mask[30, 30] == 0, "the selection became the whole mask"
    window.act_undo.trigger()
    assert window.canvas.mask_item.alpha()[30, 30] == 255


def test_clear_invert_fill_are_undoable(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.act_fill_mask.trigger()
    assert window.canvas.mask_item.alpha().min() == 255
    window.act_invert_mask.trigger()
    assert window.canvas.mask_item.is_empty()
    window.act_fill_mask.trigger()
    window.act_clear_mask.trigger()
    assert window.canvas.mask_item.is_empty()
    window.act_undo.trigger()
    assert window.canvas.mask_item.alpha().min() == 255


def test_zoom_around_cursor_pan_and_fit(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(make_image(tmp_path / "big.png", 2400, 1800))
    canvas = window.canvas
    canvas.actual_size()
    canvas.centerOn(1200, 900)
    anchor = scene_to_view(window, 1100, 850)
    canvas.set_zoom(4.0, anchor)
    assert canvas.zoom() == 4.0
    back = canvas.mapToScene(anchor)
    assert abs(back.x() - 1100) <= 1 and abs(back.y() - 850) <= 1, "the point under the cursor stays put"
    before = canvas.horizontalScrollBar().value()
    viewport = canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    QTest.mouseMove(viewport, QPoint(250, 300))
    QTest.mouseRelease(
        viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(250, 300)
    )
    assert canvas.horizontalScrollBar().value() == before + 50
    assert canvas.mask_item.is_empty(), "panning never paints"
    window.act_fit.trigger()
    assert canvas.zoom() <= 1.0


def test_compare_before_after(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    assert not window.canvas.showing_before()
    QTest.keyPress(window.canvas, Qt.Key.Key_Backslash)
    assert window.canvas.showing_before() and not window.canvas.mask_item.isVisible()
    QTest.keyRelease(window.canvas, Qt.Key.Key_Backslash)
    assert not window.canvas.showing_before()
    window.act_compare.trigger()
    assert window.split_slider.isEnabled() and window.canvas.showing_before()
    window.split_slider.setValue(25)
    assert window.canvas.before_item._clip_x == 320 * 0.25


def test_transparent_pixels_show_a_checkerboard(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gptstudio.core.imageio import from_array, save_image

    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[:, :100] = (200, 40, 40, 255)  # left half opaque red, right half fully transparent
    save_image(from_array(rgba), tmp_path / "cutout.png")
    window.open_path(tmp_path / "cutout.png")
    window.canvas.actual_size()
    shot = window.canvas.viewport().grab().toImage()
    inside = window.canvas.mapFromScene(150.0, 100.0)
    colours = {
        shot.pixelColor(inside.x() + dx, inside.y() + dy).name() for dx in range(16) for dy in range(16)
    }
    assert len(colours) == 2, f"expected the two checker greys, got {colours}"
    left = window.canvas.mapFromScene(50.0, 100.0)
    assert shot.pixelColor(left).red() == 200


def test_fitted_image_refits_when_the_window_grows(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(make_image(tmp_path / "big.png", 2400, 1800))
    window.resize(700, 500)
    qtbot.waitUntil(lambda: window.canvas.viewport().width() < 500, timeout=2000)
    small = window.canvas.zoom()
    window.resize(1200, 800)
    qtbot.waitUntil(lambda: window.canvas.zoom() > small, timeout=2000)
    window.act_actual.trigger()
    window.resize(900, 700)
    qtbot.wait(50)
    assert window.canvas.zoom() == 1.0, "a zoom the user chose is kept"
