"""Help shows where the user's things are: About names the data folder (models, settings,
autosaves) and the log folder and opens the data folder; Help > Open Log Folder opens the logs.
Starting the app writes the support log."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

from gptstudio.core import logs
from gptstudio.core.paths import data_dir


class _Opened(QObject):
    """Stands in for the file manager: records the folders the app asks the system to show."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def show(self, url: QUrl) -> None:
        self.urls.append(url)


def _capture_opens():  # type: ignore[no-untyped-def]
    opened = _Opened()
    QDesktopServices.setUrlHandler("file", opened, "show")
    return opened


def _help_action(window, text: str):  # type: ignore[no-untyped-def]
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    return next(a for a in help_menu.actions() if a.text().replace("&", "") == text)


def test_about_names_the_data_and_log_folders_and_opens_the_data_folder(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    opened = _capture_opens()
    try:
        _help_action(window, "About GPT Studio").trigger()
        box = next(
            w for w in QApplication.topLevelWidgets() if w.objectName() == "aboutDialog" and w.isVisible()
        )
        assert isinstance(box, QMessageBox)
        text = box.informativeText()
        assert str(data_dir()) in text and str(logs.log_dir()) in text
        button = next(b for b in box.buttons() if b.text() == "Open Data Folder")
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert [Path(u.toLocalFile()) for u in opened.urls] == [data_dir()]
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_help_open_log_folder_shows_the_log_folder(window) -> None:  # type: ignore[no-untyped-def]
    opened = _capture_opens()
    try:
        _help_action(window, "Open Log Folder").trigger()
        assert [Path(u.toLocalFile()) for u in opened.urls] == [logs.log_dir()]
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_starting_the_app_writes_the_support_log(qtbot) -> None:  # type: ignore[no-untyped-def]
    from gptstudio.app import create_window

    hooks = sys.excepthook, threading.excepthook
    try:
        _app, window = create_window([])
        qtbot.waitExposed(window)
        text = (logs.log_dir() / logs.LOG_NAME).read_text(encoding="utf-8")
        assert "GPT Studio" in text and str(data_dir()) in text
        window.shutdown()
    finally:
        logs.stop_logging()
        sys.excepthook, threading.excepthook = hooks
