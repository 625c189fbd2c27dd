"""The main window's place, size, docks and brush settings between sessions, and the app icon.

Why apart from the window: restoring and saving what a person arranged (geometry, dock layout,
brush size and hardness, the task panel's choices) is one job with one settings group, and the
first start's placement (centred, never larger than the screen) belongs with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QPoint
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from gptstudio.app import settings as app_settings

if TYPE_CHECKING:
    from gptstudio.app.main_window import MainWindow


def restore(window: MainWindow) -> None:
    """Bring back the last session's geometry, docks, brush and panel; centre on a first start."""
    s = app_settings.settings()
    geometry = s.value("window/geometry")
    state = s.value("window/state")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    else:
        centre_on_screen(window)
    if isinstance(state, QByteArray):
        window.restoreState(state)
    size = s.value("tools/size")
    if size is not None:
        window.tools.set_size(float(size))
    hardness = s.value("tools/hardness")
    if hardness is not None:
        window.tools.set_hardness(float(hardness))
    window.panel.restore_state(s)


def save(window: MainWindow) -> None:
    """Remember the window as it is now (called as it closes)."""
    s = app_settings.settings()
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/state", window.saveState())
    s.setValue("tools/size", window.tools.size)
    s.setValue("tools/hardness", window.tools.hardness)
    window.panel.save_state(s)
    s.sync()


def centre_on_screen(window: QWidget) -> None:
    """First start: a large window in the middle of the screen, never bigger than it."""
    screen = QApplication.primaryScreen()
    if screen is not None:
        geo = screen.availableGeometry()
        window.resize(
            min(window.width(), int(geo.width() * 0.92)), min(window.height(), int(geo.height() * 0.92))
        )
        window.move(geo.center() - QPoint(window.width() // 2, window.height() // 2))


def app_icon() -> QIcon:
    """The SVG plus the rendered PNG sizes, so small sizes (title bar, taskbar) stay crisp."""
    from importlib.resources import files

    icons = files("gptstudio.resources") / "icons"
    icon = QIcon(str(icons / "gptstudio.svg"))
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        icon.addFile(str(icons / f"gptstudio-{size}.png"))
    return icon
