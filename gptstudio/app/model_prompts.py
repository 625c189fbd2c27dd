"""The questions the Models dialog asks before it downloads or deletes anything.

Each box is opened window-modal without blocking (``open()``, not ``exec()``), so downloads already
running keep reporting progress while the user reads, and tests answer the box like a person. The
answer arrives through ``on_yes``; closing the box or any other button does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from gptstudio.models.store import human_size


def ask_download(
    parent: QWidget, entry: Any, partial_bytes: int, on_yes: Callable[[bool, bool], None]
) -> QMessageBox:
    """Show the licence before a download; a restricted licence, and a model that is published only
    as a TorchScript program, need an explicit yes that names what is being accepted.

    ``on_yes(accept_licence, allow_torchscript)`` starts the download.
    """
    from gptstudio.models import manager

    restricted = bool(entry.restricted)
    torchscript = manager.needs_torchscript(entry)
    box = QMessageBox(parent)
    box.setObjectName("licenceDialog")
    box.setWindowTitle("Licence")
    box.setTextFormat(Qt.TextFormat.RichText)
    name, licence = escape(entry.name), escape(entry.licence)
    link = f"<a href='{escape(entry.licence_url, quote=True)}'>{licence}</a>"
    remaining = human_size(max(entry.download_size - partial_bytes, 0))
    lines = []
    if restricted:
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(f"<b>{name}</b> has a restricted licence: {link}.")
        lines.append(
            f"{entry.licence} restricts how you may use this model and what you make with it (for "
            "example: non-commercial use only). Read the licence; download only if you accept it."
        )
    else:
        box.setIcon(QMessageBox.Icon.Information)
        box.setText(f"<b>{name}</b> is licensed under {link}.")
    if torchscript:
        box.setIcon(QMessageBox.Icon.Warning)
        lines.append(manager.torchscript_notice(entry))
    lines.append(f"Download {remaining} from {entry.source}?")
    box.setInformativeText("\n\n".join(lines))
    if restricted or torchscript:
        label = "Accept licence and download" if restricted else "Allow and download"
        accept = box.addButton(label, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton("Don't download", QMessageBox.ButtonRole.RejectRole))
    else:
        accept = box.addButton("Download", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(accept)

    def answered(_result: int) -> None:
        if box.clickedButton() is accept:
            on_yes(restricted, torchscript)

    box.finished.connect(answered)
    box.open()
    return box


def ask_remove(parent: QWidget, text: str, on_yes: Callable[[], None]) -> QMessageBox:
    """Confirm deleting a model (or the bytes of an unfinished download) from disk."""
    box = QMessageBox(parent)
    box.setObjectName("removeDialog")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Remove model")
    box.setText(text)
    remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))

    def answered(_result: int) -> None:
        if box.clickedButton() is remove:
            on_yes()

    box.finished.connect(answered)
    box.open()
    return box
