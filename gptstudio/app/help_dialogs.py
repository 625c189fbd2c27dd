"""Help: the About box and a shortcuts table generated from the window's real actions, so the help
can never list a key that does nothing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QDialog, QMessageBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from gptstudio import __version__

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


def show_about(parent: QWidget, icon: QIcon) -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("aboutDialog")
    box.setWindowTitle("About GPT Studio")
    box.setIconPixmap(icon.pixmap(64, 64))
    box.setText(f"<b>GPT Studio {__version__}</b>")
    box.setInformativeText(
        "An image editor built around generative pretrained Transformers: inpaint, restore, "
        "denoise. Models run on your own machine."
    )
    box.open()
    return box
