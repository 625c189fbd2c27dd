"""Crash recovery: offer the newest autosaved document of a dead session back, once.

The autosave folders and their locks are :mod:`gptstudio.app.autosave`'s; this module is the
conversation with the user and putting the recovered document into the session.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from gptstudio.app.autosave import Autosaver, orphaned_sessions, remove_session
from gptstudio.app.convert import rgb_to_qimage
from gptstudio.app.document import read_snapshot
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.session import DocumentSession
from gptstudio.core.errors import GptStudioError


class Recovery(QObject):
    def __init__(self, session: DocumentSession, autosaver: Autosaver) -> None:
        super().__init__(session)
        self.session, self.autosaver = session, autosaver

    def offer(self) -> bool:
        """After a crash, offer the newest autosaved document back; True when it was restored."""
        session, widget = self.session, self.session.widget
        sessions = orphaned_sessions()
        if not sessions:
            return False
        folder, lock = sessions[0]
        try:
            snap = read_snapshot(folder)
        except GptStudioError as exc:
            remove_session(folder, lock)
            error_dialog(widget, exc)
            return False
        name = Path(snap.save_path or snap.source_path or "untitled").name
        box = QMessageBox(widget)
        box.setObjectName("recoverDialog")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Recover unsaved work")
        when = datetime.fromtimestamp(snap.saved_at).strftime("%Y-%m-%d %H:%M")
        box.setText(f"GPT Studio did not close properly. Recover the work on {name} autosaved at {when}?")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(recover)
        box.exec()
        if box.clickedButton() is not recover:
            remove_session(folder, lock)
            return False
        if not session.confirm_discard():
            lock.unlock()
            return False
        doc = snap.to_document()
        session.set_document(doc, rgb_to_qimage(doc.image.rgb, doc.image.alpha))
        if snap.mask is not None and session.canvas.mask_item is not None:
            session.canvas.mask_item.set_alpha(snap.mask)
        session.show_file_params(doc.file_params)  # the file's parameters survive the crash
        session.recovered_unsaved = True
        self.autosaver.mark_changed()
        session.state_changed.emit()
        remove_session(folder, lock)
        session.notify("Recovered the autosaved document. Save it to keep it.", 10000)
        return True
