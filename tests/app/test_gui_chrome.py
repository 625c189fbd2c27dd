"""Window chrome driven like a person: one-key shortcuts after clicking in the panel, focus after
Cancel, the Before/After captions of the compare view and the Task Panel toggle."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox

from gptstudio.app.tools import Tool


def click(qtbot, widget) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(widget.width() // 2, widget.height() // 2))


def key(widget, k: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    QTest.keyClick(widget, k)
    QApplication.processEvents()


def activate(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """The focus is the active window's: a window shown after another test's may not be active yet."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def test_one_key_shortcuts_work_after_clicking_the_panel(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    activate(qtbot, window)
    panel = window.panel
    for widget in (panel.task_combo, window.shape_combo, window.size_box, panel.run_button):
        if not widget.isEnabled():
            continue
        if isinstance(widget, QComboBox):
            # a click opens the popup and picking an item closes it, leaving the focus on the combo
            # (offscreen popups do not give the focus back, so the pick is done directly)
            widget.setFocus(Qt.FocusReason.MouseFocusReason)
            widget.setCurrentIndex(widget.count() - 1)
        else:
            click(qtbot, widget)
        qtbot.waitUntil(lambda w=widget: QApplication.focusWidget() is w)
        focus = QApplication.focusWidget()
        assert focus is not None and focus is not window.canvas
        window.tools.set_tool(Tool.ERASER)
        key(focus, Qt.Key.Key_B)
        assert window.tools.tool is Tool.BRUSH, type(widget).__name__
        size = window.tools.size
        key(focus, Qt.Key.Key_BracketRight)
        assert window.tools.size > size, type(widget).__name__
        key(focus, Qt.Key.Key_BracketLeft)
        assert window.tools.size < size + 1
        QTest.keyPress(focus, Qt.Key.Key_Backslash)
        assert window.canvas.showing_before(), type(widget).__name__
        assert [c.text for c in window.canvas.compare_captions()] == ["Before"]
        QTest.keyRelease(focus, Qt.Key.Key_Backslash)
        assert not window.canvas.showing_before()
        key(focus, Qt.Key.Key_H)
        assert not window.act_show_mask.isChecked()
        key(focus, Qt.Key.Key_H)
        assert window.act_show_mask.isChecked()


def test_letters_typed_into_a_text_field_stay_text(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    activate(qtbot, window)
    field = window.panel.negative_prompt
    window.panel.set_task("inpaint")
    field.setVisible(True)
    field.setFocus()
    window.tools.set_tool(Tool.ERASER)
    for k in (Qt.Key.Key_B, Qt.Key.Key_BracketRight, Qt.Key.Key_Backslash):
        QTest.keyClick(field, k)
    assert field.text() == "b]\\"
    assert window.tools.tool is Tool.ERASER and not window.canvas.showing_before()


def test_focus_returns_to_the_canvas_after_cancel(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    activate(qtbot, window)
    window.panel.set_task("denoise")
    assert window.panel.set_model("test-slow-invert")
    click(qtbot, window.panel.run_button)
    qtbot.waitUntil(lambda: window.panel.cancel_button.isEnabled(), timeout=10000)
    window.panel.cancel_button.setFocus()  # as a mouse click or Tab would
    click(qtbot, window.panel.cancel_button)
    qtbot.waitUntil(lambda: not window.controller.active_jobs(), timeout=5000)
    qtbot.waitUntil(lambda: not window.panel.cancel_button.isEnabled(), timeout=5000)
    assert QApplication.focusWidget() is not window.size_box
    focus = QApplication.focusWidget() or window
    window.tools.set_tool(Tool.ERASER)
    key(focus, Qt.Key.Key_B)
    assert window.tools.tool is Tool.BRUSH


def _grab(window) -> np.ndarray:  # type: ignore[no-untyped-def]
    img = window.canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    return (
        np.frombuffer(img.constBits(), np.uint8)
        .reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3]
        .reshape(img.height(), img.width(), 3)
        .copy()
    )  # the QImage's buffer dies with it


def test_split_view_captions_before_and_after(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    canvas = window.canvas
    assert canvas.compare_captions() == []
    plain = _grab(window)
    window.act_compare.trigger()
    qtbot.waitUntil(lambda: len(canvas.compare_captions()) == 2)
    before, after = canvas.compare_captions()
    assert (before.text, after.text) == ("Before", "After")
    split_x = canvas.mapFromScene(canvas.image_size()[0] * 0.5, 0).x()
    assert before.rect.right() < split_x < after.rect.left()
    shot = _grab(window)
    r = before.rect.toAlignedRect()
    inside = (slice(r.top() + 2, r.bottom() - 1), slice(r.left() + 2, r.right() - 1))
    assert np.abs(shot[inside].astype(int) - plain[inside].astype(int)).mean() > 20, "no caption drawn"
    window.split_slider.setValue(90)
    before2, after2 = canvas.compare_captions()
    assert before2.rect.left() > before.rect.left()
    assert after2.rect.right() <= canvas.viewport().width(), "the squeezed caption stays in view"
    window.act_compare.trigger()
    assert canvas.compare_captions() == []


def test_view_task_panel_toggles_and_is_remembered(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from gptstudio.app.main_window import MainWindow

    toggle = window.task_dock.toggleViewAction()
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert toggle in view.actions()
    assert toggle.isEnabled() and toggle.isChecked()
    toggle.trigger()
    assert not window.task_dock.isVisible() and not toggle.isChecked()
    toggle.trigger()
    assert window.task_dock.isVisible() and toggle.isChecked()
    toggle.trigger()
    from gptstudio.app import window_state

    window_state.save(window)
    second = MainWindow()
    try:
        second.show()
        qtbot.waitExposed(second)
        assert not second.task_dock.isVisible()
        assert not second.task_dock.toggleViewAction().isChecked()
    finally:
        second.shutdown()
        second.close()
        second.deleteLater()


def test_loader_mask_is_built_with_numpy_and_matches_qpainter(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The loader's mask (numpy, lets go of the GIL: no GUI stall while a big photo opens) has the
    same pixels as the GUI thread's QPainter path."""
    from gptstudio.app.mask_layer import BAND, mask_image, read_alpha, write_alpha

    h, w = BAND + 45, 517
    alpha = np.random.default_rng(0).integers(0, 256, (h, w), dtype=np.uint8)
    ref = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    write_alpha(ref, alpha)
    built = mask_image(w, h, alpha)
    assert built == ref
    assert np.array_equal(read_alpha(built), alpha)
    assert not read_alpha(mask_image(w, h)).any()
