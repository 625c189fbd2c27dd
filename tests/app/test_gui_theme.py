"""Icons and themes: every toolbar action has an icon, and View > Theme switches the palette (and the
icons' colours) and is remembered for the next start."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QToolBar

from gptstudio.app import theme
from gptstudio.app.appearance import saved_choice


def test_every_toolbar_and_menu_action_has_an_icon(window) -> None:  # type: ignore[no-untyped-def]
    toolbars = window.findChildren(QToolBar)
    assert toolbars
    for bar in toolbars:
        for action in bar.actions():
            if action.isSeparator() or bar.widgetForAction(action) is None or not action.text():
                continue
            if action.defaultWidget() if hasattr(action, "defaultWidget") else False:
                continue
            assert not action.icon().isNull(), f"{bar.objectName()}: {action.text()} has no icon"
    for name in ("act_open", "act_run", "act_models", "act_compare"):
        assert not getattr(window, name).icon().isNull()


def test_view_theme_switches_the_palette_and_is_remembered(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    view = window.view_menu
    menu = next(a.menu() for a in view.actions() if a.menu() is not None and "Theme" in a.text())
    by_text = {a.text().replace("&", ""): a for a in menu.actions()}
    assert set(by_text) == {"System", "Light", "Dark"}
    try:
        by_text["Light"].trigger()
        light = app.palette().color(QPalette.ColorRole.Window).lightness()
        icon_light = window.act_open.icon().pixmap(16, 16).toImage()
        assert saved_choice() == "light"
        by_text["Dark"].trigger()
        dark = app.palette().color(QPalette.ColorRole.Window).lightness()
        icon_dark = window.act_open.icon().pixmap(16, 16).toImage()
        assert light > 180 > 80 > dark
        assert icon_light != icon_dark, "the icons were not redrawn in the new colours"
        assert saved_choice() == "dark" and by_text["Dark"].isChecked()
        by_text["System"].trigger()
        assert window.appearance.scheme() == theme.system_scheme()
    finally:
        theme.apply_theme(app, "dark")
