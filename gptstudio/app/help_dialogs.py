"""Help: the About box (with the folders where models, settings, autosaves and logs live), the
log folder, and a shortcuts table generated from the window's real actions, so the help can never
list a key that does nothing."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import QDialog, QMessageBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from gptstudio import __version__
from gptstudio.core.logs import log_dir
from gptstudio.core.paths import data_dir

#: Gestures that are not actions, with how to do them.
GESTURES = (
    ("Pan", "Space + drag, or middle button"),
    ("Zoom around the cursor", "Mouse wheel"),
    ("Show the original while held", "\\"),
)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """Every action with a shortcut, as the user sees it, plus the canvas gestures."""
    rows = []
    for act in actions:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in act.shortcuts())
        if keys:
            rows.append((act.text().replace("&", ""), keys))
    return rows + list(GESTURES)


def show_shortcuts(parent: QWidget, rows: list[tuple[str, str]]) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("shortcutsDialog")
    dialog.setWindowTitle("Keyboard shortcuts")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    layout = QVBoxLayout(dialog)
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["Action", "Shortcut"])
    for i, (name, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(name))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.verticalHeader().hide()
    layout.addWidget(table)
    dialog.resize(460, 520)
    dialog.show()
    return dialog


def open_folder(path: Path) -> bool:
    """Show ``path`` in the system's file manager (Explorer, Finder, or the desktop's own)."""
    path.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def show_about(parent: QWidget, icon: QIcon) -> QMessageBox:
    """The version, and where this program keeps the user's things (so they can be found, backed
    up or removed): the data folder holds models, settings and autosaves; the log folder the
    support log. Both paths are selectable, and a button opens the data folder."""
    data, logs = data_dir(), log_dir()
    box = QMessageBox(parent)
    box.setObjectName("aboutDialog")
    box.setWindowTitle("About GPT Studio")
    box.setIconPixmap(icon.pixmap(64, 64))
    box.setText(f"<b>GPT Studio {__version__}</b>")
    box.setInformativeText(
        "An image editor built around generative pretrained Transformers: inpaint, restore, "
        "denoise, upscale, generate. Models run on your own machine; nothing is downloaded "
        "unless you ask.<br><br>"
        f"Your data (models, settings, autosaves):<br><code>{html.escape(str(data))}</code><br><br>"
        f"Log files:<br><code>{html.escape(str(logs))}</code>"
    )
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    open_data = box.addButton("Open Data Folder", QMessageBox.ButtonRole.ActionRole)
    open_data.setObjectName("openDataFolder")
    open_data.clicked.connect(lambda: open_folder(data))
    box.addButton(QMessageBox.StandardButton.Close)
    box.open()
    return box
