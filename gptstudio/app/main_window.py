"""The main window: menus, toolbars, the canvas, the task panel, and the glue to the worker.

It owns the document, the undo stack, the worker controller and the autosaver, and it is the
only place that turns user intent (open, save, run, close) into file writes or jobs. Nothing here
runs a model: requests go to the worker thread and results come back as undoable edits.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QPoint, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QImage,
    QKeySequence,
    QShowEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
)

from gptstudio.app import settings as app_settings
from gptstudio.app.autosave import Autosaver, orphaned_sessions, remove_session
from gptstudio.app.canvas import Canvas
from gptstudio.app.convert import rgb_to_qimage
from gptstudio.app.document import Document, Snapshot, read_snapshot, save_ora
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.help_dialogs import shortcut_rows, show_about, show_shortcuts
from gptstudio.app.loader import ImageLoader, LoadOutcome, load_document
from gptstudio.app.model_downloads import ModelDownloads, ModelJob
from gptstudio.app.models_dialog import ModelsDialog
from gptstudio.app.task_panel import TASK_LABELS, TaskPanel
from gptstudio.app.tool_options import ToolOptionsBar
from gptstudio.app.tools import Tool, ToolSettings
from gptstudio.app.undo_commands import ImageResultCommand, ImageState, MaskReplaceCommand
from gptstudio.app.worker import JobOutput, WorkerController
from gptstudio.core.errors import GptStudioError, ImageWriteError, MaskError
from gptstudio.core.imageio import SAVE_FORMATS, save_image
from gptstudio.core.masks import load_mask

OPEN_FILTER = (
    "Images and documents (*.ora *.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif);;"
    "OpenRaster document (*.ora);;All files (*)"
)
IMAGE_SUFFIXES = {".ora", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
SAVE_FILTER = "OpenRaster document (*.ora);;PNG image (*.png)"
UNDO_LIMIT = 100


class MainWindow(QMainWindow):
    """One document per window; ``shutdown()`` is what closing does once the user agreed."""

    def __init__(self, autosave_interval_ms: int = 60_000) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("GPT Studio")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.document: Document | None = None
        self._recovered_unsaved = False
        self._job_docs: dict[int, Document] = {}
        self._closed = False
        self._downloads: ModelDownloads | None = None
        self._models_dialog: ModelsDialog | None = None
        self.tools = ToolSettings()
        self.undo_stack = QUndoStack(self)
        self.canvas = Canvas(self.tools, self.undo_stack, self)
        self.setCentralWidget(self.canvas)
        self.panel = TaskPanel()
        dock = QDockWidget("Task", self)
        dock.setObjectName("taskDock")
        dock.setWidget(self.panel)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.task_dock = dock

        self.controller = WorkerController(self)
        w = self.controller.worker
        w.started.connect(self._job_started)
        w.progress.connect(self._job_progress)
        w.preview.connect(self._job_preview)
        w.finished.connect(self._job_finished)
        w.failed.connect(self._job_failed)
        w.cancelled.connect(self._job_cancelled)
        w.notice.connect(self._job_notice)
        w.device_found.connect(self._device_found)

        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._loaded_in_background)
        self.autosaver = Autosaver(self._snapshot, autosave_interval_ms, self)
        self.autosaver.failed.connect(self._autosave_failed)
        # Results hold whole images; a bound keeps a long session's memory in check.
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self._build_actions()
        self._build_menus()
        self._build_toolbars()
        self._build_status_bar()
        self.panel.run_clicked.connect(self.run_task)
        self.panel.cancel_clicked.connect(self.cancel_jobs)
        self.panel.get_more_clicked.connect(self.show_models)
        self.undo_stack.cleanChanged.connect(self._update_title)
        self.undo_stack.indexChanged.connect(self.autosaver.mark_changed)
        self.canvas.zoom_changed.connect(self._zoom_changed)
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.selection_changed.connect(self.act_mask_from_selection.setEnabled)
        self._restore_window_state()
        self._update_actions()
        self._update_title()
        self._probed = False

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._probed:  # after the window is up: naming a GPU imports torch
            self._probed = True
            QTimer.singleShot(300, self.controller.probe_device)

    # --- construction -------------------------------------------------------------------------

    def _action(
        self, text: str, slot: Any = None, shortcut: Any = None, tip: str = "", checkable: bool = False
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        SK = QKeySequence.StandardKey
        self.act_open = self._action("&Open…", self.open_dialog, SK.Open, "Open an image")
        self.act_save = self._action(
            "&Save", self.save, SK.Save, "Save the document (image, original, mask, history) as OpenRaster"
        )
        self.act_save_as = self._action("Save &As…", self.save_as, SK.SaveAs, "Save under a new name")
        self.act_export = self._action(
            "&Export…", self.export_dialog, "Ctrl+E", "Write a copy as PNG, JPEG, WebP or TIFF"
        )
        self.act_load_mask = self._action(
            "Load &Mask…", self.load_mask_dialog, None, "Load a mask image (white = change)"
        )
        self.act_quit = self._action("&Quit", self.close, SK.Quit, "Close GPT Studio")
        self.act_undo = self.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(SK.Undo)
        self.act_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence(SK.Redo), QKeySequence("Ctrl+Y")])
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        # Toolbar twins with a fixed label, so the toolbar does not jump as "Undo <what>" changes.
        self.tool_undo = QAction("Undo", self)
        self.tool_undo.triggered.connect(self.undo_stack.undo)
        self.undo_stack.canUndoChanged.connect(self.tool_undo.setEnabled)
        self.undo_stack.undoTextChanged.connect(self._undo_tip)
        self.tool_redo = QAction("Redo", self)
        self.tool_redo.triggered.connect(self.undo_stack.redo)
        self.undo_stack.canRedoChanged.connect(self.tool_redo.setEnabled)
        self.undo_stack.redoTextChanged.connect(self._undo_tip)
        self._undo_tip()
        self.act_clear_mask = self._action(
            "&Clear Mask", self.clear_mask, "Ctrl+Shift+Backspace", "Remove the whole mask"
        )
        self.act_fill_mask = self._action(
            "&Fill Mask", self.fill_mask, "Ctrl+Shift+F", "Mask the whole image"
        )
        self.act_invert_mask = self._action(
            "&Invert Mask", self.invert_mask, "Ctrl+I", "Swap masked and unmasked"
        )
        self.act_mask_from_selection = self._action(
            "Mask from &Selection", self.mask_from_selection, "Ctrl+Shift+M", "Make the selection the mask"
        )
        self.act_deselect = self._action("&Deselect", self.deselect, "Ctrl+D", "Drop the selection")
        self.act_zoom_in = self._action(
            "Zoom &In", self.canvas.zoom_in, [QKeySequence(SK.ZoomIn), QKeySequence("Ctrl+=")]
        )
        self.act_zoom_out = self._action("Zoom &Out", self.canvas.zoom_out, SK.ZoomOut)
        self.act_fit = self._action("&Fit to Window", self.canvas.fit, "Ctrl+0")
        self.act_actual = self._action("&100 %", self.canvas.actual_size, "Ctrl+1")
        self.act_show_mask = self._action("Show &Mask", self.canvas.set_mask_visible, "H", checkable=True)
        self.act_show_mask.setChecked(True)
        self.act_compare = self._action(
            "&Compare Before/After",
            self._toggle_compare,
            "Y",
            "Split view with the original; hold \\ to flip",
            True,
        )
        self.act_run = self._action("&Run Task", self.run_task, "Ctrl+Return", "Run the chosen task")
        self.act_cancel = self._action("&Cancel Jobs", self.cancel_jobs, "Ctrl+.", "Stop the running job")
        self.act_models = self._action(
            "&Models…",
            lambda: self.show_models(self.panel.current_task()),
            None,
            "Download, import and remove models for each task",
        )
        self.act_about = self._action("&About GPT Studio", self.show_about)
        self.act_shortcuts = self._action("&Keyboard Shortcuts", self.show_shortcuts, SK.HelpContents)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, key in ((Tool.BRUSH, "B"), (Tool.ERASER, "E"), (Tool.RECT, "M"), (Tool.LASSO, "L")):
            act = self._action(
                tool.label,
                lambda _c=False, t=tool: self.tools.set_tool(t),
                key,
                f"{tool.label} ({key})",
                True,
            )
            act.setObjectName(f"tool_{tool.value}")
            self.tool_group.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions[Tool.BRUSH].setChecked(True)
        self.act_bigger = self._action("Bigger Brush", lambda: self.tools.grow(1.15), "]")
        self.act_smaller = self._action("Smaller Brush", lambda: self.tools.grow(1 / 1.15), "[")

    def _undo_tip(self, *_: object) -> None:
        self.tool_undo.setEnabled(self.undo_stack.canUndo())
        self.tool_redo.setEnabled(self.undo_stack.canRedo())
        self.tool_undo.setToolTip(
            self.act_undo.text().replace("&", "") + f" ({self.act_undo.shortcut().toString()})"
        )
        self.tool_redo.setToolTip(
            self.act_redo.text().replace("&", "") + f" ({self.act_redo.shortcut().toString()})"
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.act_open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file.addSeparator()
        for act in (self.act_save, self.act_save_as, self.act_export):
            file.addAction(act)
        file.addSeparator()
        file.addAction(self.act_load_mask)
        file.addSeparator()
        file.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        for act in (
            self.act_clear_mask,
            self.act_fill_mask,
            self.act_invert_mask,
            self.act_mask_from_selection,
            self.act_deselect,
        ):
            edit.addAction(act)
        view = bar.addMenu("&View")
        for act in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual):
            view.addAction(act)
        view.addSeparator()
        view.addAction(self.act_show_mask)
        view.addAction(self.act_compare)
        view.addSeparator()
        view.addAction(self.task_dock.toggleViewAction())
        models = bar.addMenu("&Models")
        models.addAction(self.act_models)
        tools = bar.addMenu("&Tools")
        tools.setToolTipsVisible(True)
        for act in self.tool_actions.values():
            tools.addAction(act)
        tools.addSeparator()
        tools.addAction(self.act_run)
        tools.addAction(self.act_cancel)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)

    def _build_toolbars(self) -> None:
        main = QToolBar("Main")
        main.setObjectName("mainToolbar")
        main.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for act in (
            self.act_open,
            self.act_save,
            None,
            self.tool_undo,
            self.tool_redo,
            None,
            self.act_fit,
            self.act_actual,
            None,
            self.act_show_mask,
            self.act_compare,
        ):
            if act is None:
                main.addSeparator()
            else:
                main.addAction(act)
        self.addToolBar(main)
        opts = ToolOptionsBar(self.tools, self.tool_actions, self)
        self.size_box, self.hardness_box = opts.size_box, opts.hardness_box
        self.shape_combo, self.split_slider = opts.shape_combo, opts.split_slider
        self.split_slider.valueChanged.connect(self._split_moved)
        self.addToolBarBreak()
        self.addToolBar(opts)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.size_label = QLabel("")
        self.cursor_label = QLabel("")
        self.zoom_label = QLabel("")
        self.device_label = QLabel("Device: …")
        self.device_label.setObjectName("deviceLabel")
        for label in (self.size_label, self.cursor_label, self.zoom_label, self.device_label):
            bar.addPermanentWidget(label)
        bar.showMessage("Open an image (Ctrl+O) or drop one here.")

    # --- state and title ------------------------------------------------------------------------

    def is_dirty(self) -> bool:
        return self.document is not None and (self._recovered_unsaved or not self.undo_stack.isClean())

    def _update_title(self, *_: object) -> None:
        name = self.document.title if self.document else "GPT Studio"
        self.setWindowTitle(f"{name}[*] — GPT Studio" if self.document else "GPT Studio")
        self.setWindowModified(self.is_dirty())

    def _update_actions(self) -> None:
        has = self.document is not None
        for act in (
            self.act_save,
            self.act_save_as,
            self.act_export,
            self.act_load_mask,
            self.act_clear_mask,
            self.act_fill_mask,
            self.act_invert_mask,
            self.act_run,
            self.act_compare,
        ):
            act.setEnabled(has)
        self.act_mask_from_selection.setEnabled(has and not self.canvas.selection.isEmpty())

    def _zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    def _cursor_moved(self, x: int, y: int) -> None:
        w, h = self.canvas.image_size()
        self.cursor_label.setText(f"{x}, {y}" if 0 <= x < w and 0 <= y < h else "")

    def _device_found(self, text: str) -> None:
        self.device_label.setText(f"Device: {text}")

    # --- opening ------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        start = str(self.document.source_path.parent) if self.document and self.document.source_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open image", start, OPEN_FILTER)
        if path:
            self.open_path(path, background=True)

    def open_path(self, path: str | Path, mask: str | Path | None = None, background: bool = False) -> bool:
        """Open an image (and optionally a mask); on failure say why and keep the current work.

        With ``background`` the file is decoded on a thread and the window stays responsive; the
        return value then says the load started, and the document appears when it is done.
        """
        if self.loader.busy():
            self.statusBar().showMessage("Still opening the previous image…", 5000)
            return False
        if not self.confirm_discard():
            return False
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
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
        if not self._closed:
            self._opened(outcome)

    def _opened(self, outcome: LoadOutcome) -> bool:
        path, doc, qimage = outcome.path, outcome.document, outcome.qimage
        if outcome.error is not None or doc is None or qimage is None:
            self.statusBar().clearMessage()
            if not path.exists():
                app_settings.remove_recent_file(path)
            error_dialog(self, outcome.error or GptStudioError(f"{path.name} could not be opened."))
            return False
        self._set_document(doc, qimage, outcome.mask_image)
        app_settings.add_recent_file(path)
        self.panel.show_file_params(doc.file_params)
        if doc.file_params.get("task"):
            self.statusBar().showMessage(
                "This image holds the parameters it was made with: Reuse parameters in the panel."
            )
        else:
            self.statusBar().showMessage(f"Opened {path.name}", 5000)
        if outcome.mask_error is not None:
            error_dialog(self, outcome.mask_error)
        return True

    def _set_document(self, doc: Document, qimage: QImage, mask: QImage | None = None) -> None:
        self.document = doc
        self._job_docs.clear()
        self.undo_stack.clear()
        self._recovered_unsaved = False
        original = (
            qimage if doc.original is doc.image else rgb_to_qimage(doc.original.rgb, doc.original.alpha)
        )
        # a mask given with the image is the starting point, not an edit
        self.canvas.set_images(qimage, original, mask, transparent=doc.image.alpha is not None)
        self.size_label.setText(f"{doc.image.width}×{doc.image.height}")
        self.act_compare.setChecked(False)
        self._toggle_compare(False)
        self._update_actions()
        self._update_title()
        self.canvas.setFocus()

    def load_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load mask (white = change)", "", OPEN_FILTER)
        if path:
            self.load_mask(path)

    def load_mask(self, path: str | Path, undoable: bool = True) -> bool:
        if self.document is None or self.canvas.mask_item is None:
            return False
        try:
            mask = load_mask(path, self.document.image.size)
        except MaskError as exc:
            error_dialog(self, exc)
            return False
        alpha = (np.clip(mask, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        if undoable:
            self.undo_stack.push(MaskReplaceCommand(self.canvas.mask_item, alpha, "Load mask"))
        else:
            self.canvas.mask_item.set_alpha(alpha)
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = app_settings.recent_files()
        for f in files:
            act = self.recent_menu.addAction(Path(f).name)
            act.setToolTip(f)
            act.setStatusTip(f)
            act.triggered.connect(lambda _c=False, p=f: self.open_path(p, background=True))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", app_settings.clear_recent_files)
        else:
            none = self.recent_menu.addAction("No recent files")
            none.setEnabled(False)

    # --- drag and drop ----------------------------------------------------------------------

    @staticmethod
    def _dropped_image(event: QDragEnterEvent | QDropEvent) -> str | None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_image(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_image(event)
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

    def _suggested_name(self, suffix: str) -> str:
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
        path, _ = QFileDialog.getSaveFileName(self, "Save as", self._suggested_name(".ora"), SAVE_FILTER)
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
        if target.suffix.lower() not in (".ora", ".png"):
            error_dialog(
                self,
                ImageWriteError(
                    "Save writes OpenRaster (.ora) or PNG files (they keep the parameters); "
                    "use Export for other formats."
                ),
            )
            return False
        try:
            if target.suffix.lower() == ".ora":
                mask = self.canvas.mask_item.alpha() if self.canvas.mask_item is not None else None
                save_ora(doc, target, mask)
            else:
                save_image(doc.image, target, params=doc.save_params(), overwrite=True)
        except GptStudioError as exc:
            error_dialog(self, exc)
            return False
        doc.save_path = target
        self.undo_stack.setClean()
        self._recovered_unsaved = False
        self.autosaver.mark_changed()
        app_settings.add_recent_file(target)
        self._update_title()
        self.statusBar().showMessage(f"Saved {target.name}", 5000)
        return True

    def export_dialog(self) -> None:
        if self.document is None:
            return
        filters = "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff);;BMP (*.bmp)"
        path, _ = QFileDialog.getSaveFileName(self, "Export a copy", self._suggested_name(".jpg"), filters)
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        """Write a copy in the format the extension names; the document's save target is unchanged."""
        doc = self.document
        if doc is None:
            return False
        target = Path(path)
        if target.suffix.lower() not in SAVE_FORMATS:
            error_dialog(
                self,
                ImageWriteError(
                    f"Unknown format '{target.suffix}'. Use one of: {', '.join(sorted(SAVE_FORMATS))}."
                ),
            )
            return False
        try:
            save_image(doc.image, target, params=doc.save_params(), overwrite=True)
        except GptStudioError as exc:
            error_dialog(self, exc)
            return False
        self.statusBar().showMessage(f"Exported {target.name}", 5000)
        return True

    def confirm_discard(self) -> bool:
        """Ask about unsaved changes; True when it is fine to drop the current document."""
        if not self.is_dirty():
            return True
        box = QMessageBox(self)
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

    # --- mask edits ---------------------------------------------------------------------------

    def _replace_mask(self, alpha: np.ndarray, text: str) -> None:
        if self.canvas.mask_item is not None:
            self.undo_stack.push(MaskReplaceCommand(self.canvas.mask_item, alpha, text))

    def clear_mask(self) -> None:
        if self.canvas.mask_item is not None:
            w, h = self.canvas.image_size()
            self._replace_mask(np.zeros((h, w), np.uint8), "Clear mask")

    def fill_mask(self) -> None:
        if self.canvas.mask_item is not None:
            w, h = self.canvas.image_size()
            self._replace_mask(np.full((h, w), 255, np.uint8), "Fill mask")

    def invert_mask(self) -> None:
        if self.canvas.mask_item is not None:
            self._replace_mask(255 - self.canvas.mask_item.alpha(), "Invert mask")

    def mask_from_selection(self) -> None:
        if self.canvas.mask_item is None or self.canvas.selection.isEmpty():
            return
        w, h = self.canvas.image_size()
        image = QImage(w, h, QImage.Format.Format_Grayscale8)
        image.fill(0)
        from PySide6.QtGui import QPainter

        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillPath(self.canvas.selection, Qt.GlobalColor.white)
        painter.end()
        bpl = image.bytesPerLine()
        alpha = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)[:, :w].copy()
        self._replace_mask(alpha, "Mask from selection")
        self.deselect()

    def deselect(self) -> None:
        from PySide6.QtGui import QPainterPath

        self.canvas.set_selection(QPainterPath())

    # --- view ---------------------------------------------------------------------------------

    def _toggle_compare(self, on: bool) -> None:
        self.split_slider.setEnabled(bool(on))
        self.canvas.set_split(self.split_slider.value() / 100.0 if on else None)

    def _split_moved(self, value: int) -> None:
        if self.act_compare.isChecked():
            self.canvas.set_split(value / 100.0)

    # --- jobs ---------------------------------------------------------------------------------

    def run_task(self) -> int | None:
        """Send the panel's task to the worker; returns the job id (None when nothing was sent)."""
        doc = self.document
        if doc is None or self.canvas.mask_item is None:
            self.statusBar().showMessage("Open an image first.", 5000)
            return None
        task = self.panel.current_task()
        try:
            if task == "inpaint" and self.canvas.mask_item.is_empty():
                raise MaskError("The mask is empty: paint over the area to fill first (brush: B).")
            mask = self.canvas.mask_item.float_mask() if task in ("inpaint", "generate") else None
            request = self.panel.build_request(doc.image, mask)
        except GptStudioError as exc:
            error_dialog(self, exc)
            return None
        job_id = self.controller.submit(request)
        self._job_docs[job_id] = doc
        self.panel.set_running(True)
        queued = len(self.controller.active_jobs())
        self.panel.status.setText("Waiting for the previous job…" if queued > 1 else "Starting…")
        return job_id

    def cancel_jobs(self) -> None:
        self.controller.cancel_all()
        self.panel.status.setText("Cancelling…")

    def _job_started(self, job_id: int) -> None:
        self.panel.set_progress(0.0, "Working…")

    def _job_progress(self, job_id: int, fraction: float, message: str) -> None:
        self.panel.set_progress(fraction, message)

    def _job_preview(self, job_id: int, image: QImage) -> None:
        self.panel.set_preview(image)

    def _job_done(self) -> None:
        if not self.controller.active_jobs():
            self.panel.set_running(False)

    def _job_finished(self, job_id: int, output: JobOutput) -> None:
        doc = self._job_docs.pop(job_id, None)
        self._job_done()
        if doc is None or doc is not self.document:
            return  # the user opened another image meanwhile
        result = output.result
        task = TASK_LABELS.get(str(result.params.get("task")), "Result")
        before = ImageState(doc.image, self.canvas.image_item.image(), list(doc.history))
        after = ImageState(result.image, output.qimage, [*doc.history, dict(result.params)])
        if result.image.size != doc.image.size and self.canvas.mask_item is not None:
            # an upscale: the mask follows the image, and undo gives back the mask it had
            before.mask = self.canvas.mask_item.alpha()
            after.mask = _resized_mask(before.mask, *result.image.size)
        self.undo_stack.push(
            ImageResultCommand(self._apply_state, before, after, f"{task} ({result.params.get('model')})")
        )
        device = str(result.params.get("device", ""))
        self.panel.set_progress(1.0, f"{task} done in {result.seconds:.1f} s on {device.upper() or 'CPU'}.")
        self.statusBar().showMessage(f"{task} done in {result.seconds:.1f} s", 8000)

    def _apply_state(self, state: ImageState) -> None:
        if self.document is None:
            return
        self.document.image = state.image
        self.document.history = list(state.history)
        if state.mask is not None and state.mask.shape != self.canvas.image_size()[::-1]:
            self.canvas.resize_image(state.qimage, state.mask)
            self.size_label.setText(f"{state.image.width}×{state.image.height}")
        else:
            self.canvas.set_image(state.qimage)

    def _job_failed(self, job_id: int, error: GptStudioError) -> None:
        self._job_docs.pop(job_id, None)
        self._job_done()
        self.panel.set_progress(0.0, f"Failed: {error}")
        error_dialog(self, error)

    def _job_cancelled(self, job_id: int) -> None:
        self._job_docs.pop(job_id, None)
        self._job_done()
        self.panel.set_progress(0.0, "Cancelled.")
        self.statusBar().showMessage("Job cancelled; the image is unchanged.", 5000)

    def _job_notice(self, job_id: int, text: str) -> None:
        self.panel.status.setText(text)
        self.statusBar().showMessage(text, 15000)
        box = QMessageBox(
            QMessageBox.Icon.Information, "Running on the CPU", text, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("noticeDialog")
        box.open()

    # --- autosave and recovery ----------------------------------------------------------------

    def _snapshot(self) -> Snapshot | None:
        if not self.is_dirty() or self.document is None or self.canvas.mask_item is None:
            return None
        return Snapshot.of(self.document, self.canvas.mask_item.alpha())

    def _autosave_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Autosave failed: {message}. Save your work with Ctrl+S.", 30000)

    def offer_recovery(self) -> bool:
        """After a crash, offer the newest autosaved document back; True when it was restored."""
        sessions = orphaned_sessions()
        if not sessions:
            return False
        folder, lock = sessions[0]
        try:
            snap = read_snapshot(folder)
        except GptStudioError as exc:
            remove_session(folder, lock)
            error_dialog(self, exc)
            return False
        name = Path(snap.save_path or snap.source_path or "untitled").name
        box = QMessageBox(self)
        box.setObjectName("recoverDialog")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Recover unsaved work")
        from datetime import datetime

        when = datetime.fromtimestamp(snap.saved_at).strftime("%Y-%m-%d %H:%M")
        box.setText(f"GPT Studio did not close properly. Recover the work on {name} autosaved at {when}?")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(recover)
        box.exec()
        if box.clickedButton() is not recover:
            remove_session(folder, lock)
            return False
        if not self.confirm_discard():
            lock.unlock()
            return False
        doc = snap.to_document()
        self._set_document(doc, rgb_to_qimage(doc.image.rgb, doc.image.alpha))
        if snap.mask is not None and self.canvas.mask_item is not None:
            self.canvas.mask_item.set_alpha(snap.mask)
        self._recovered_unsaved = True
        self.autosaver.mark_changed()
        self._update_title()
        remove_session(folder, lock)
        self.statusBar().showMessage("Recovered the autosaved document. Save it to keep it.", 10000)
        return True

    # --- dialogs ------------------------------------------------------------------------------

    @property
    def downloads(self) -> ModelDownloads:
        """Model downloads and imports; the thread starts the first time someone needs it, and
        belongs to the window so closing the Models dialog does not stop a download."""
        if self._downloads is None:
            d = ModelDownloads(parent=self)
            d.models_changed.connect(self.panel.refresh_tasks)
            d.progress.connect(self._download_progress)
            d.finished.connect(self._download_finished)
            d.failed.connect(self._download_failed)
            self._downloads = d
        return self._downloads

    def show_models(self, task: str | None = None) -> ModelsDialog:
        """The Models dialog (one per window), filtered to ``task`` (None: every task)."""
        if self._models_dialog is None:
            self._models_dialog = ModelsDialog(self, task or None, downloads=self.downloads)
        else:
            self._models_dialog.set_task_filter(task or None)
            self._models_dialog.reload()
        self._models_dialog.show()
        self._models_dialog.raise_()
        self._models_dialog.activateWindow()
        return self._models_dialog

    def _models_dialog_open(self) -> bool:
        return self._models_dialog is not None and self._models_dialog.isVisible()

    def _download_progress(self, job: ModelJob) -> None:
        if not self._models_dialog_open():
            self.statusBar().showMessage(f"{job.label}: {job.message}", 3000)

    def _download_finished(self, job: ModelJob, model: object) -> None:
        tasks = ", ".join(TASK_LABELS.get(t, t) for t in getattr(model, "tasks", ()))
        self.statusBar().showMessage(f"{getattr(model, 'name', job.label)} is ready for {tasks}.", 8000)

    def _download_failed(self, job: ModelJob, error: GptStudioError) -> None:
        if not self._models_dialog_open():  # the dialog shows its own
            error_dialog(self, error)

    def _confirm_stop_downloads(self) -> bool:
        """Closing while models download: they stop, and the next Download resumes them."""
        if self._downloads is None or not self._downloads.busy():
            return True
        box = QMessageBox(self)
        box.setObjectName("stopDownloads")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Downloads in progress")
        box.setText("Models are still downloading. Quit anyway?")
        box.setInformativeText("What was downloaded is kept: Download resumes it next time.")
        SB = QMessageBox.StandardButton
        box.setStandardButtons(SB.Yes | SB.No)
        box.setDefaultButton(SB.No)
        return box.exec() == SB.Yes

    def show_about(self) -> None:
        show_about(self, self.windowIcon())

    def shortcut_rows(self) -> list[tuple[str, str]]:
        return shortcut_rows(self.actions())

    def show_shortcuts(self) -> None:
        show_shortcuts(self, self.shortcut_rows())

    # --- window state and closing -----------------------------------------------------------

    def _restore_window_state(self) -> None:
        s = app_settings.settings()
        geometry = s.value("window/geometry")
        state = s.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.centre_on_screen()
        if isinstance(state, QByteArray):
            self.restoreState(state)
        size = s.value("tools/size")
        if size is not None:
            self.tools.set_size(float(size))
        hardness = s.value("tools/hardness")
        if hardness is not None:
            self.tools.set_hardness(float(hardness))
        self.panel.restore_state(s)

    def _save_window_state(self) -> None:
        s = app_settings.settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("tools/size", self.tools.size)
        s.setValue("tools/hardness", self.tools.hardness)
        self.panel.save_state(s)
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and not (self.confirm_discard() and self._confirm_stop_downloads()):
            event.ignore()
            return
        self._save_window_state()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the worker and drop this session's autosave (the work was saved or discarded)."""
        if self._closed:
            return
        self._closed = True
        self.loader.wait()
        if not self.controller.shutdown():
            print("GPT Studio: a job did not stop in time; the worker thread is abandoned.", file=sys.stderr)
        if self._downloads is not None and not self._downloads.shutdown():
            print("GPT Studio: a download did not stop in time; its thread is abandoned.", file=sys.stderr)
        self.autosaver.discard()

    def centre_on_screen(self) -> None:
        """First start: a large window in the middle of the screen, never bigger than it."""
        screen = QApplication.primaryScreen()
        if screen is not None:
            geo = screen.availableGeometry()
            self.resize(
                min(self.width(), int(geo.width() * 0.92)), min(self.height(), int(geo.height() * 0.92))
            )
            self.move(geo.center() - QPoint(self.width() // 2, self.height() // 2))


def _resized_mask(alpha: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mask stretched to a result of another size, so what was masked stays masked."""
    import cv2

    return np.ascontiguousarray(cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR))


def app_icon() -> QIcon:
    from importlib.resources import files

    return QIcon(str(files("gptstudio.resources") / "gptstudio.svg"))
