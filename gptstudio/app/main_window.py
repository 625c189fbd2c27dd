"""The main window: lays out the canvas, the task panel, menus and status bar, and wires the
controllers that do the work.

Each controller has one job — :mod:`~gptstudio.app.session` (open, save, export, the close
prompt), :mod:`~gptstudio.app.jobs` (run, cancel, results landing), :mod:`~gptstudio.app.mask_commands`,
:mod:`~gptstudio.app.recovery` and :mod:`~gptstudio.app.actions` (actions, menus, toolbars) — so
this file only places widgets, connects signals and keeps the window's own state (title, geometry,
closing). The thin methods below are the window's public API, used by the launcher, the benchmark
and the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QImage, QShowEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QProgressBar

from gptstudio.app import actions, window_state
from gptstudio.app.adjust_controller import AdjustController
from gptstudio.app.adjust_panel import AdjustPanel
from gptstudio.app.appearance import Appearance
from gptstudio.app.autosave import Autosaver
from gptstudio.app.canvas import Canvas
from gptstudio.app.document import Document, Snapshot
from gptstudio.app.extend_canvas import ExtendCanvasController
from gptstudio.app.help_dialogs import open_folder, shortcut_rows, show_about, show_shortcuts
from gptstudio.app.jobs import JobsController
from gptstudio.app.mask_commands import MaskCommands
from gptstudio.app.models_dialog import ModelsDialog
from gptstudio.app.models_menu import ModelsMenu
from gptstudio.app.recovery import Recovery
from gptstudio.app.region_tools import RegionTools
from gptstudio.app.session import OPEN_FILTER, DocumentSession
from gptstudio.app.shortcuts import KeyRouter
from gptstudio.app.task_panel import TaskPanel
from gptstudio.app.tools import ToolSettings
from gptstudio.app.undo_stack import UndoStack

if TYPE_CHECKING:
    from gptstudio.app.batch_dialog import BatchDialog
    from gptstudio.app.train_dialog import TrainDialog
    from gptstudio.app.train_run import TrainingRun

UNDO_LIMIT = 100


class MainWindow(QMainWindow):
    """One document per window; ``shutdown()`` is what closing does once the user agreed."""

    def __init__(self, autosave_interval_ms: int = 60_000) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("GPT Studio")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._closed = False
        self.tools = ToolSettings()
        self.undo_stack = UndoStack(self)
        # Results hold whole images; a bound keeps a long session's memory in check.
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.canvas = Canvas(self.tools, self.undo_stack, self)
        self.setCentralWidget(self.canvas)
        self.panel = TaskPanel()
        dock = QDockWidget("Task", self)
        dock.setObjectName("taskDock")
        dock.setWidget(self.panel)
        dock.setFeatures(  # closable: View > Task Panel shows and hides it
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.task_dock = dock

        self.session = DocumentSession(self, self.canvas, self.undo_stack, self._notify)
        self.session.show_file_params = self.panel.show_file_params
        self.loader = self.session.loader
        self.masks = MaskCommands(self.canvas, self.undo_stack, self)
        self.regions = RegionTools(self.canvas, self.session, self.undo_stack, self.tools, self._notify, self)
        self.jobs = JobsController(self, self.session, self.canvas, self.undo_stack, self.panel, self._notify)
        self.jobs.size_changed = lambda w, h: self.size_label.setText(f"{w}×{h}")
        self.extend_canvas = ExtendCanvasController(
            self.canvas, self.session, self.jobs.history, self.jobs.apply_state, self._notify,
            lambda: self.panel.set_task("inpaint"), self,
        )  # fmt: skip
        self.adjust_dock: QDockWidget | None = None  # made on first use (Tools > Adjust…)
        self.adjust: AdjustController | None = None
        self.controller = self.jobs.controller
        self.controller.worker.device_found.connect(self._device_found)
        # held back while a result is pending or landing and while an undo step runs (see autosave)
        held = lambda: bool(self.jobs.jobs) or self.undo_stack.busy()  # noqa: E731
        self.autosaver = Autosaver(self._snapshot, autosave_interval_ms, self, held=held)
        self.undo_stack.on_busy = self.jobs.submitted = self.autosaver.look_again
        self.autosaver.failed.connect(self._autosave_failed)
        self.session.saved = self.autosaver.mark_changed
        self.recovery = Recovery(self.session, self.autosaver)
        self.models = ModelsMenu(self, self.panel, self._notify)
        self.batch_dialog: BatchDialog | None = None  # made on first use (Tools > Batch…)
        self.training: TrainingRun | None = None  # made on first use (Tools > Train…), outlives its dialog
        self.train_dialog: TrainDialog | None = None

        actions.build_actions(self)
        actions.build_menus(self)
        actions.build_toolbars(self)
        self.appearance = Appearance(self)
        self._build_status_bar()
        self.keys = KeyRouter(self)
        self.split_slider.valueChanged.connect(self._split_moved)
        self.session.document_changed.connect(self._document_changed)
        self.session.document_changed.connect(self.autosaver.mark_changed)  # e.g. a new untitled picture
        self.panel.task_combo.currentIndexChanged.connect(lambda _i: actions.update_enabled(self))
        self.session.state_changed.connect(self._update_title)
        self.panel.run_clicked.connect(self.jobs.run)
        self.panel.cancel_clicked.connect(self.jobs.cancel_all)
        self.panel.get_more_clicked.connect(self.show_models)
        self.undo_stack.cleanChanged.connect(self._update_title)
        self.undo_stack.indexChanged.connect(self.autosaver.mark_changed)
        self.canvas.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f} %"))
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.selection_changed.connect(self.act_mask_from_selection.setEnabled)
        window_state.restore(self)
        actions.update_enabled(self)
        self._update_title()
        self._probed = False

    def show_adjust(self) -> AdjustController:
        """The Adjust panel, a tab beside the task panel (made on first use, so a window that
        never adjusts pays nothing); it previews only while it is shown."""
        if self.adjust is None or self.adjust_dock is None:
            self._build_adjust_dock()
        assert self.adjust is not None and self.adjust_dock is not None
        self.adjust_dock.show()
        self.adjust_dock.raise_()
        return self.adjust

    def _build_adjust_dock(self) -> None:
        self.adjust_panel = AdjustPanel()
        dock = QDockWidget("Adjust", self)
        dock.setObjectName("adjustDock")
        dock.setWidget(self.adjust_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.task_dock, dock)
        self.adjust_dock = dock
        self.adjust = AdjustController(
            self.adjust_panel,
            self.canvas,
            self.session,
            self.jobs.history,
            self.jobs.apply_state,
            self._notify,
            self,
        )
        dock.visibilityChanged.connect(self.adjust.set_visible)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._probed:  # after the window is up: naming a GPU imports torch
            self._probed = True
            QTimer.singleShot(300, self.controller.probe_device)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.size_label = QLabel("")
        self.cursor_label = QLabel("")
        self.zoom_label = QLabel("")
        self.device_label = QLabel("Device: …")
        self.device_label.setObjectName("deviceLabel")
        # busy while a file is opened, saved, exported or autosaved (each on its own thread)
        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName("busyIndicator")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.hide()
        self._busy: set[object] = set()
        for runner in (self.loader.runner, self.session.files.runner, self.autosaver.runner):
            runner.busy_changed.connect(self._runner_busy)
        for label in (self.size_label, self.cursor_label, self.zoom_label, self.device_label):
            bar.addPermanentWidget(label)
        bar.addPermanentWidget(self.busy_bar)
        bar.showMessage("Open an image (Ctrl+O), drop one here, or Generate one from a prompt.")

    def _runner_busy(self, busy: bool) -> None:
        runner = self.sender()
        (self._busy.add if busy else self._busy.discard)(runner)
        self.busy_bar.setVisible(bool(self._busy))

    def _notify(self, text: str, timeout_ms: int = 0) -> None:
        """The controllers' one way to speak: the status bar ('' clears it)."""
        if text:
            self.statusBar().showMessage(text, timeout_ms)
        else:
            self.statusBar().clearMessage()

    # --- the public API: thin delegates to the controllers ------------------------------------

    @property
    def document(self) -> Document | None:
        return self.session.document

    def is_dirty(self) -> bool:
        return self.session.is_dirty()

    def open_path(self, path: str | Path, mask: str | Path | None = None, background: bool = False) -> bool:
        return self.session.open_path(path, mask, background)

    def _set_document(self, doc: Document, qimage: QImage, mask: QImage | None = None) -> None:
        self.session.set_document(doc, qimage, mask)

    def save(self) -> bool:
        return self.session.save()

    def save_as(self) -> bool:
        return self.session.save_as()

    def save_document_as(self, path: str | Path) -> bool:
        return self.session.save_document_as(path)

    def export_to(self, path: str | Path) -> bool:
        return self.session.export_to(path)

    def confirm_discard(self) -> bool:
        return self.session.confirm_discard()

    def load_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load mask (white = change)", "", OPEN_FILTER)
        if path:
            self.load_mask(path)

    def load_mask(self, path: str | Path, undoable: bool = True) -> bool:
        return self.session.document is not None and self.masks.load(path, undoable)

    def run_task(self) -> int | None:
        return self.jobs.run()

    def cancel_jobs(self) -> None:
        self.jobs.cancel_all()

    def offer_recovery(self) -> bool:
        return self.recovery.offer()

    def _fill_recent_menu(self) -> None:
        self.session.fill_recent_menu(self.recent_menu)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.session.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.session.drop(event)

    # --- state shown by the window ---------------------------------------------------------------

    def _document_changed(self) -> None:
        doc = self.session.document
        if doc is not None:
            self.size_label.setText(f"{doc.image.width}×{doc.image.height}")
        self.act_compare.setChecked(False)
        self._toggle_compare(False)
        actions.update_enabled(self)

    def _update_title(self, *_: object) -> None:
        doc = self.session.document
        self.setWindowTitle(f"{doc.title}[*] — GPT Studio" if doc else "GPT Studio")
        self.setWindowModified(self.is_dirty())

    def _undo_tip(self, *_: object) -> None:
        actions.undo_tip(self)

    def _cursor_moved(self, x: int, y: int) -> None:
        w, h = self.canvas.image_size()
        self.cursor_label.setText(f"{x}, {y}" if 0 <= x < w and 0 <= y < h else "")

    def _device_found(self, text: str) -> None:
        self.device_label.setText(f"Device: {text}")

    def _toggle_compare(self, on: bool) -> None:
        self.split_slider.setEnabled(bool(on))
        self.canvas.set_split(self.split_slider.value() / 100.0 if on else None)

    def _split_moved(self, value: int) -> None:
        if self.act_compare.isChecked():
            self.canvas.set_split(value / 100.0)

    def _snapshot(self) -> Snapshot | None:
        doc = self.session.document
        if not self.is_dirty() or doc is None or self.canvas.mask_item is None:
            return None
        return Snapshot.of(doc, self.canvas.mask_item.alpha())

    def _autosave_failed(self, message: str) -> None:
        self._notify(f"Autosave failed: {message}. Save your work with Ctrl+S.", 30000)

    # --- dialogs ------------------------------------------------------------------------------

    def show_models(self, task: str | None = None) -> ModelsDialog:
        return self.models.show(task)

    def show_batch(self) -> BatchDialog:
        """The Batch dialog (one per window, non-modal: editing goes on while a folder runs)."""
        from gptstudio.app.batch_dialog import BatchDialog

        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        self.batch_dialog.activateWindow()
        return self.batch_dialog

    def show_train(self) -> TrainDialog:
        """Tools > Train… (one per window; the run it shows belongs to the window: train_dialog)."""
        from gptstudio.app.train_dialog import show_for

        return show_for(self)

    def _confirm_stop_batch(self) -> bool:
        d = self.batch_dialog
        return d is None or not d.running() or d.confirm_stop()

    def show_about(self) -> None:
        show_about(self, self.windowIcon())

    def open_log_folder(self) -> None:
        from gptstudio.core.logs import log_dir

        open_folder(log_dir())

    def shortcut_rows(self) -> list[tuple[str, str]]:
        return shortcut_rows(self.actions())

    def show_shortcuts(self) -> None:
        show_shortcuts(self, self.shortcut_rows())

    # --- window state and closing -----------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and not (
            self.confirm_discard()
            and self.models.confirm_stop_downloads()
            and self._confirm_stop_batch()
            and (self.training is None or self.training.confirm_stop(self))
        ):
            event.ignore()
            return
        window_state.save(self)
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the worker and drop this session's autosave (the work was saved or discarded)."""
        if self._closed:
            return
        self._closed = True
        self.session.closed = True
        self.keys.detach()
        self.loader.wait()
        self.session.files.runner.wait()  # a save in flight is finished, never cut off
        if not self.controller.shutdown():
            print("GPT Studio: a job did not stop in time; the worker thread is abandoned.", file=sys.stderr)
        if self.adjust is not None:
            self.adjust.shutdown()
        self.extend_canvas.shutdown()
        if not self.regions.shutdown():
            print("GPT Studio: a selection did not stop in time; its thread is abandoned.", file=sys.stderr)
        if not self.models.shutdown():
            print("GPT Studio: a download did not stop in time; its thread is abandoned.", file=sys.stderr)
        if self.batch_dialog is not None and not self.batch_dialog.shutdown():
            print("GPT Studio: the batch did not stop in time; its thread is abandoned.", file=sys.stderr)
        if self.training is not None and not self.training.shutdown():
            print("GPT Studio: the trainer is writing its checkpoint; it ends on its own.", file=sys.stderr)
        self.autosaver.discard()
