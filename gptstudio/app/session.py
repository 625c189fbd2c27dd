"""The document session: which document is open, and every way one arrives or leaves.

Open (a dialog, the recent list, a drop, the command line), Save, Save As, Export and the
unsaved-changes prompt all live here, so the rule "never lose work, never overwrite the original
unasked" is checked in one place. Each new document gets a new :attr:`generation`, which jobs
carry so a result never lands on a document other than the one it was computed for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QUndoStack
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox, QWidget

from gptstudio.app import settings as app_settings
from gptstudio.app.canvas import Canvas
from gptstudio.app.convert import rgb_to_qimage
from gptstudio.app.document import Document
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.loader import ImageLoader, LoadOutcome, load_document
from gptstudio.app.session_files import FileWriter
from gptstudio.core.errors import GptStudioError

OPEN_FILTER = (
    "Images and documents (*.ora *.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif);;"
    "OpenRaster document (*.ora);;All files (*)"
)
IMAGE_SUFFIXES = {".ora", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
SAVE_FILTER = "OpenRaster document (*.ora);;PNG image (*.png)"


class DocumentSession(QObject):
    """Owns the open :class:`Document`; ``document_changed`` fires when another one replaces it."""

    document_changed = Signal()
    #: The title or the modified flag may have changed (saved, recovered, edited).
    state_changed = Signal()

    def __init__(
        self,
        parent_widget: QWidget,
        canvas: Canvas,
        undo_stack: QUndoStack,
        notify: Callable[..., None],
    ) -> None:
        super().__init__(parent_widget)
        self.widget, self.canvas, self.undo_stack, self.notify = parent_widget, canvas, undo_stack, notify
        self.document: Document | None = None
        #: Bumped whenever the document is replaced (or closed); jobs remember the one they ran on.
        self.generation = 0
        self.recovered_unsaved = False
        self.closed = False
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._loaded_in_background)
        self.files = FileWriter(self)
        #: Called with the opened document's stored parameters (the panel's "Reuse" banner).
        self.show_file_params: Callable[[dict], None] = lambda params: None
        #: Called after a save so the autosave notices the document is safe.
        self.saved: Callable[[], None] = lambda: None

    # --- state ----------------------------------------------------------------------------------

    def is_dirty(self) -> bool:
        return self.document is not None and (self.recovered_unsaved or not self.undo_stack.isClean())

    # --- opening ------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        doc = self.document
        start = str(doc.source_path.parent) if doc and doc.source_path else ""
        path, _ = QFileDialog.getOpenFileName(self.widget, "Open image", start, OPEN_FILTER)
        if path:
            self.open_path(path, background=True)

    def open_path(self, path: str | Path, mask: str | Path | None = None, background: bool = False) -> bool:
        """Open an image (and optionally a mask); on failure say why and keep the current work.

        With ``background`` the file is decoded on a thread and the window stays responsive; the
        return value then says the load started, and the document appears when it is done.
        """
        if self.loader.busy():
            self.notify("Still opening the previous image…", 5000)
            return False
        if not self.confirm_discard():
            return False
        self.notify(f"Opening {Path(path).name}…", 0)
        if background:
            self.canvas.setEnabled(False)  # no edits to a document about to be replaced
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
            self.loader.start(path, mask)
            return True
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            outcome = load_document(path, mask)
        finally:
            QApplication.restoreOverrideCursor()
        return self._opened(outcome)

    def _loaded_in_background(self, outcome: LoadOutcome) -> None:
        QApplication.restoreOverrideCursor()
        self.canvas.setEnabled(True)
        if not self.closed:
            self._opened(outcome)

    def _opened(self, outcome: LoadOutcome) -> bool:
        path, doc, qimage = outcome.path, outcome.document, outcome.qimage
        if outcome.error is not None or doc is None or qimage is None:
            self.notify("", 0)
            if not path.exists():
                app_settings.remove_recent_file(path)
            error_dialog(self.widget, outcome.error or GptStudioError(f"{path.name} could not be opened."))
            return False
        self.set_document(doc, qimage, outcome.mask_image)
        app_settings.add_recent_file(path)
        self.show_file_params(doc.file_params)
        if doc.file_params.get("task"):
            self.notify("This image holds the parameters it was made with: Reuse parameters in the panel.", 0)
        else:
            self.notify(f"Opened {path.name}", 5000)
        if outcome.mask_error is not None:
            error_dialog(self.widget, outcome.mask_error)
        return True

    def set_document(self, doc: Document, qimage: QImage, mask: QImage | None = None) -> None:
        """Replace the document: a new generation, an empty history, the canvas redrawn."""
        self.document = doc
        self.generation += 1
        self.undo_stack.clear()
        self.recovered_unsaved = False
        original = (
            qimage if doc.original is doc.image else rgb_to_qimage(doc.original.rgb, doc.original.alpha)
        )
        # a mask given with the image is the starting point, not an edit
        self.canvas.set_images(qimage, original, mask, transparent=doc.image.alpha is not None)
        self.document_changed.emit()
        self.state_changed.emit()
        self.canvas.setFocus()

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        files = app_settings.recent_files()
        for f in files:
            act = menu.addAction(Path(f).name)
            act.setToolTip(f)
            act.setStatusTip(f)
            act.triggered.connect(lambda _c=False, p=f: self.open_path(p, background=True))
        if files:
            menu.addSeparator()
            menu.addAction("Clear List", app_settings.clear_recent_files)
        else:
            none = menu.addAction("No recent files")
            none.setEnabled(False)

    # --- drag and drop ----------------------------------------------------------------------

    @staticmethod
    def dropped_image(event: QDragEnterEvent | QDropEvent) -> str | None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
                return url.toLocalFile()
        return None

    def drag_enter(self, event: QDragEnterEvent) -> None:
        if self.dropped_image(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        path = self.dropped_image(event)
        if path:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_path(path, background=True))

    # --- saving -------------------------------------------------------------------------------

    def save(self) -> bool:
        """Save to the file the user chose before; the first time, ask where (never the original)."""
        if self.document is None:
            return False
        if self.document.save_path is None:
            return self.save_as()
        return self.save_document_as(self.document.save_path)

    def suggested_name(self, suffix: str) -> str:
        doc = self.document
        assert doc is not None
        if doc.save_path is not None:
            return str(doc.save_path.with_suffix(suffix))
        if doc.source_path is not None:
            return str(doc.source_path.with_name(f"{doc.source_path.stem}-edited{suffix}"))
        return f"untitled{suffix}"

    def save_as(self) -> bool:
        if self.document is None:
            return False
        path, _ = QFileDialog.getSaveFileName(
            self.widget, "Save as", self.suggested_name(".ora"), SAVE_FILTER
        )
        if not path:
            return False
        if Path(path).suffix.lower() not in (".ora", ".png"):
            path += ".ora"
        return self.save_document_as(path)

    def save_document_as(self, path: str | Path) -> bool:
        """Write the document to ``path`` the user chose: .ora keeps everything, .png the pixels and
        parameters only."""
        doc = self.document
        if doc is None:
            return False
        target = Path(path)
        mask = self.canvas.mask_item.alpha() if self.canvas.mask_item is not None else None
        index, generation = self.undo_stack.index(), self.generation
        if not self.files.save(doc, target, mask):
            return False
        if generation != self.generation:  # another document arrived while this one was written
            return True
        doc.save_path = target
        if self.undo_stack.index() == index:  # an edit made while writing is not in the file
            self.undo_stack.setClean()
        self.recovered_unsaved = False
        self.saved()
        app_settings.add_recent_file(target)
        self.state_changed.emit()
        self.notify(f"Saved {target.name}", 5000)
        return True

    def export_dialog(self) -> None:
        if self.document is None:
            return
        filters = "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff);;BMP (*.bmp)"
        path, _ = QFileDialog.getSaveFileName(
            self.widget, "Export a copy", self.suggested_name(".jpg"), filters
        )
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        """Write a copy in the format the extension names; the document's save target is unchanged."""
        doc = self.document
        if doc is None:
            return False
        target = Path(path)
        if not self.files.export(doc, target):
            return False
        self.notify(f"Exported {target.name}", 5000)
        return True

    def confirm_discard(self) -> bool:
        """Ask about unsaved changes; True when it is fine to drop the current document."""
        if not self.is_dirty():
            return True
        box = QMessageBox(self.widget)
        box.setObjectName("unsavedChanges")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to {self.document.title if self.document else 'the image'}?")
        box.setInformativeText("Your changes will be lost if you don't save them.")
        SB = QMessageBox.StandardButton
        box.setStandardButtons(SB.Save | SB.Discard | SB.Cancel)
        box.setDefaultButton(SB.Save)
        answer = box.exec()
        if answer == SB.Save:
            return self.save()
        return answer == SB.Discard
