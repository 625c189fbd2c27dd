"""Errors as a dialog: a title, one line a person can act on, and the details folded away."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from gptstudio.core.errors import GptStudioError


def error_dialog(parent: QWidget | None, error: BaseException) -> QMessageBox:
    """Show ``error`` window-modally without blocking the event loop; returns the box."""
    if isinstance(error, GptStudioError):
        title, message, details = error.title, error.message, error.details
    else:
        title, message, details = "Error", str(error) or type(error).__name__, None
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(f"<b>{title}</b>")
    box.setInformativeText(message)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()
    return box
