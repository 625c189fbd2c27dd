"""How the window looks: the icons on toolbars and menus, and View > Theme (System, Light, Dark).

Icons are Material Design glyphs drawn by qtawesome in the palette's text colour, so they read in
the dark and the light theme alike; they are redrawn whenever the palette changes (the user picks
a theme, or "System" follows the desktop switching scheme). The choice is kept in the settings.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from gptstudio.app import settings as app_settings
from gptstudio.app import theme
from gptstudio.app.tools import Tool

SETTING = "view/theme"

#: action attribute on the window -> Material Design Icons 6 name
ICONS = {
    "act_open": "folder-open-outline",
    "act_save": "content-save-outline",
    "act_save_as": "content-save-edit-outline",
    "act_export": "export",
    "act_load_mask": "layers-outline",
    "act_quit": "exit-to-app",
    "act_undo": "undo",
    "act_redo": "redo",
    "tool_undo": "undo",
    "tool_redo": "redo",
    "act_clear_mask": "selection-remove",
    "act_fill_mask": "format-color-fill",
    "act_invert_mask": "invert-colors",
    "act_mask_from_selection": "selection-drag",
    "act_deselect": "selection-off",
    "act_zoom_in": "magnify-plus-outline",
    "act_zoom_out": "magnify-minus-outline",
    "act_fit": "fit-to-screen-outline",
    "act_actual": "numeric-1-box-outline",
    "act_show_mask": "eye-outline",
    "act_compare": "compare",
    "act_run": "play",
    "act_cancel": "stop",
    "act_models": "package-variant",
    "act_about": "information-outline",
    "act_shortcuts": "keyboard-outline",
}
TOOL_ICONS = {
    Tool.BRUSH: "brush",
    Tool.ERASER: "eraser",
    Tool.RECT: "selection",
    Tool.LASSO: "lasso",
    Tool.OBJECT: "select-drag",
    Tool.WAND: "auto-fix",
}


def saved_choice() -> str:
    value = str(app_settings.settings().value(SETTING, "system"))
    return value if value in theme.CHOICES else "system"


def _icon(name: str, pal: QPalette) -> Any:
    os.environ.setdefault("QT_API", "pyside6")  # QtPy must bind the Qt we run, not a PyQt it finds
    import qtawesome as qta  # here, not at import: it builds its fonts on first use

    text = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText)
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    on = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    return qta.icon(f"mdi6.{name}", color=text, color_disabled=disabled, color_on=on, color_active=text)


class Appearance(QObject):
    """Owns the View > Theme menu of window ``w`` and keeps its icons in the palette's colours."""

    def __init__(self, w: Any) -> None:
        super().__init__(w)
        self.w = w
        self.choice = saved_choice()
        self.menu = w.view_menu.addMenu("&Theme")
        self.group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for choice, text in (("system", "&System"), ("light", "&Light"), ("dark", "&Dark")):
            act = QAction(text, self.menu, checkable=True)
            act.setStatusTip(
                "Follow the desktop's light or dark scheme" if choice == "system" else f"Always {choice}"
            )
            act.triggered.connect(lambda _c=False, c=choice: self.set_choice(c))
            self.group.addAction(act)
            self.menu.addAction(act)
            self.theme_actions[choice] = act
        self.theme_actions[self.choice].setChecked(True)
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._system_changed)
        w.installEventFilter(self)
        self.refresh_icons()

    def set_choice(self, choice: str) -> None:
        """Apply and remember a theme choice ('system', 'light' or 'dark')."""
        if choice not in theme.CHOICES:
            raise ValueError(f"unknown theme {choice!r}")
        self.choice = choice
        self.theme_actions[choice].setChecked(True)
        s = app_settings.settings()
        s.setValue(SETTING, choice)
        s.sync()
        self._apply()

    def scheme(self) -> str:
        return theme.resolve(self.choice)

    def _apply(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, self.choice)
        self.refresh_icons()

    def _system_changed(self, *_: object) -> None:
        if self.choice == "system":
            self._apply()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.w and event.type() == QEvent.Type.PaletteChange:
            self.refresh_icons()
        return False

    def refresh_icons(self) -> None:
        """Draw every icon in the current palette's colours."""
        pal = QApplication.palette()
        for attr, name in ICONS.items():
            action = getattr(self.w, attr, None)
            if isinstance(action, QAction):
                action.setIcon(_icon(name, pal))
        for tool, action in self.w.tool_actions.items():
            action.setIcon(_icon(TOOL_ICONS[tool], pal))
        self.w.task_dock.toggleViewAction().setIcon(_icon("dock-right", pal))
        self.menu.setIcon(_icon("theme-light-dark", pal))
