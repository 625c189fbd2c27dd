"""A dark Fusion theme: photo editors use a neutral dark frame so the image's colours read true.

Fusion looks the same on every platform, so screenshots, tests and users agree on what they see.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory


def apply_theme(app: QApplication) -> None:
    app.setStyle(QStyleFactory.create("Fusion"))
    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(32, 32, 35), QColor(222, 222, 222)
    accent = QColor(74, 144, 226)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(130, 130, 130),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(58, 58, 62),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Highlight: accent,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: accent,
    }
    for role, color in roles.items():
        p.setColor(role, color)
    disabled = QColor(120, 120, 120)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(p)
