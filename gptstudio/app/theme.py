"""Fusion themes, dark and light, chosen by the user or following the system's colour scheme.

Photo editors default to a neutral dark frame so the image's colours read true, and people who
run a light desktop expect a light one: "System" follows the desktop (Qt 6.5+ reports it; where
it cannot tell, dark). Fusion looks the same on every platform, so screenshots, tests and users
agree on what they see.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

#: The user's choices, as stored in the settings and shown in View > Theme.
CHOICES = ("system", "light", "dark")
R = QPalette.ColorRole

_DARK = {
    R.Window: (45, 45, 48),
    R.WindowText: (222, 222, 222),
    R.Base: (32, 32, 35),
    R.AlternateBase: (45, 45, 48),
    R.ToolTipBase: (60, 60, 64),
    R.ToolTipText: (222, 222, 222),
    R.PlaceholderText: (130, 130, 130),
    R.Text: (222, 222, 222),
    R.Button: (58, 58, 62),
    R.ButtonText: (222, 222, 222),
    R.BrightText: (255, 90, 90),
    R.Highlight: (74, 144, 226),
    R.HighlightedText: (255, 255, 255),
    R.Link: (74, 144, 226),
    R.Mid: (70, 70, 74),
    R.Midlight: (80, 80, 84),
    R.Dark: (25, 25, 27),
}
_LIGHT = {
    R.Window: (239, 239, 241),
    R.WindowText: (30, 30, 32),
    R.Base: (255, 255, 255),
    R.AlternateBase: (245, 245, 247),
    R.ToolTipBase: (255, 255, 240),
    R.ToolTipText: (30, 30, 32),
    R.PlaceholderText: (120, 120, 120),
    R.Text: (30, 30, 32),
    R.Button: (228, 228, 231),
    R.ButtonText: (30, 30, 32),
    R.BrightText: (200, 0, 0),
    R.Highlight: (38, 110, 200),
    R.HighlightedText: (255, 255, 255),
    R.Link: (30, 100, 190),
    R.Mid: (190, 190, 194),
    R.Midlight: (250, 250, 252),
    R.Dark: (160, 160, 164),
}
_DISABLED = {"dark": (120, 120, 120), "light": (150, 150, 150)}


def system_scheme() -> str:
    """'light' or 'dark' as the desktop says; dark where Qt cannot tell (or is older than 6.5)."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and scheme() == Qt.ColorScheme.Light:
        return "light"
    return "dark"


def resolve(choice: str) -> str:
    """The scheme a stored choice means now: 'light' or 'dark'."""
    if choice in ("light", "dark"):
        return choice
    return system_scheme()


def palette(scheme: str) -> QPalette:
    p = QPalette()
    for role, rgb in (_LIGHT if scheme == "light" else _DARK).items():
        p.setColor(role, QColor(*rgb))
    disabled = QColor(*_DISABLED["light" if scheme == "light" else "dark"])
    for role in (R.Text, R.ButtonText, R.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def apply_theme(app: QApplication, choice: str = "system") -> str:
    """Fusion with the palette ``choice`` resolves to; returns that scheme ('light' or 'dark')."""
    scheme = resolve(choice)
    if app.style().name().lower() != "fusion":
        app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(palette(scheme))
    return scheme
