"""Menus that exist today behave for real: the models dialog lists installed models with licences,
features that do not exist yet have no menu entry, and the shortcuts help lists real shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gptstudio.app.models_dialog import ModelsDialog


def menu_titles(window) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.text().replace("&", "") for a in window.menuBar().actions()]


def test_menus_are_the_ones_people_expect(window) -> None:  # type: ignore[no-untyped-def]
    assert menu_titles(window) == ["File", "Edit", "View", "Models", "Tools", "Help"]
    entries = [a.text().replace("&", "") for m in window.menuBar().actions() for a in m.menu().actions()]
    assert "Models…" in entries
    assert "Batch…" in entries  # Tools > Batch…: a whole folder through one task
    assert "Train…" in entries  # Tools > Train…: fine-tune on a folder of your photos
    assert not [a for a in window.actions() if "later version" in a.toolTip()]
    assert not window.act_save.isEnabled(), "nothing to save before an image is open"


def test_models_dialog_lists_installed_models_with_licences(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.panel.set_task("inpaint")
    qtbot.mouseClick(window.panel.get_more, Qt.MouseButton.LeftButton)
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ModelsDialog) and w.isVisible())
    assert "classical-telea" in dialog.visible_ids(), "opened on the panel's task"
    assert "classical-nlm" not in dialog.visible_ids()
    dialog.set_task_filter(None)
    items = dialog._items
    assert items["classical-telea"].text(1) == "Inpaint"
    assert items["classical-nlm"].text(3).startswith("Apache-2.0")
    assert items["classical-nlm"].text(5) == "Built in"
    assert "test-green-fill" in items, "engines registered at run time are listed too"
    dialog.set_task_filter("generate")
    dialog.show_filter.setCurrentIndex(dialog.show_filter.findData("installed"))
    assert dialog.visible_ids() == [], "no generative model is installed"
    dialog.close()


def test_shortcut_help_lists_real_shortcuts(window) -> None:  # type: ignore[no-untyped-def]
    rows = dict(window.shortcut_rows())
    assert rows["Undo"] and rows["Open…"] and rows["Brush"] == "B"
    assert "Space" in rows["Pan"]


def test_space_drag_pans_instead_of_painting(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gui_helpers import make_image

    window.open_path(make_image(tmp_path / "big.png", 2400, 1800))
    window.canvas.actual_size()
    window.canvas.setFocus()
    vp = window.canvas.viewport()
    before = window.canvas.verticalScrollBar().value()
    QTest.keyPress(window.canvas, Qt.Key.Key_Space)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    QTest.mouseMove(vp, QPoint(300, 240))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 240))
    QTest.keyRelease(window.canvas, Qt.Key.Key_Space)
    assert window.canvas.verticalScrollBar().value() == before + 60
    assert window.canvas.mask_item.is_empty()
    assert window.undo_stack.count() == 0


def _wheel(window, at: QPoint, clicks: int) -> None:  # type: ignore[no-untyped-def]
    vp = window.canvas.viewport()
    event = QWheelEvent(
        QPointF(at),
        QPointF(vp.mapToGlobal(at)),
        QPoint(0, 0),
        QPoint(0, 120 * clicks),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(vp, event)


def test_wheel_zooms_around_the_cursor_and_keys_zoom(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gui_helpers import make_image

    window.open_path(make_image(tmp_path / "big.png", 2400, 1800))
    window.canvas.actual_size()
    window.canvas.centerOn(1200, 900)
    at = QPoint(250, 200)
    under = window.canvas.mapToScene(at)
    _wheel(window, at, 2)
    assert window.canvas.zoom() > 1.5
    after = window.canvas.mapToScene(at)
    assert abs(after.x() - under.x()) <= 1 and abs(after.y() - under.y()) <= 1
    assert window.zoom_label.text() == f"{window.canvas.zoom() * 100:.0f} %"
    start = window.canvas.zoom()
    window.act_zoom_out.trigger()
    assert window.canvas.zoom() < start
    window.act_zoom_in.trigger()
    assert abs(window.canvas.zoom() - start) < 1e-9


def test_typing_a_prompt_does_not_trigger_tool_shortcuts(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.panel.set_task("inpaint")
    window.panel.set_model("test-green-fill")
    window.tools.set_tool(window.tools.tool.BRUSH)
    window.panel.prompt.setFocus()
    QTest.keyClicks(window.panel.prompt, "lemon")
    assert window.panel.prompt.toPlainText() == "lemon"
    assert window.tools.tool.value == "brush", "the 'e' and 'l' went into the prompt, not to the tools"
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_L)
    assert window.tools.tool.value == "lasso"
