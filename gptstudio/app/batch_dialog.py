"""Tools > Batch…: run a task over a whole folder from the app, as ``gptstudio batch`` does.

Non-modal, one per window, so a person can keep editing while a folder is processed. The form
(:mod:`~gptstudio.app.batch_form`) describes the batch; whenever it changes the folder is planned
again on a background thread (listings only) and the list shows the files and how many an earlier
run in that output folder already finished — Start resumes that run, the manifest makes it redo
nothing. The batch runs on a :class:`~gptstudio.app.batch_worker.BatchThread`; this dialog only
reacts to its signals, so the GUI thread never waits on a file. Closing the dialog (or the window)
while a batch runs stops it after the current file and joins the thread: nothing is left running.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gptstudio.app import settings as app_settings
from gptstudio.app.background import BackgroundRunner
from gptstudio.app.batch_files import BatchFileList
from gptstudio.app.batch_form import BatchForm
from gptstudio.app.batch_worker import BatchThread, Preview, preview
from gptstudio.app.error_dialog import error_dialog
from gptstudio.batch import BatchOptions, BatchSummary
from gptstudio.core.errors import GptStudioError

#: How long a window's close waits for the current file before dropping it between tiles.
CLOSE_GRACE_S = 10.0


class BatchDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchDialog")
        self.setWindowTitle("Batch")
        self.setModal(False)
        self.resize(980, 620)
        self.form = BatchForm()
        self.files = BatchFileList()
        self.plan_label = QLabel(objectName="batchPlan", wordWrap=True)
        right = QVBoxLayout()
        right.addWidget(self.plan_label)
        right.addWidget(self.files, 1)
        top = QHBoxLayout()
        top.addWidget(self.form, 0)
        top.addLayout(right, 1)
        self.progress = QProgressBar(objectName="batchProgress", minimum=0, maximum=1000)
        self.status = QLabel(objectName="batchStatus")
        self.start_button = QPushButton("Start", objectName="batchStart", default=True)
        self.pause_button = QPushButton("Pause", objectName="batchPause", checkable=True, enabled=False)
        self.cancel_button = QPushButton("Cancel", objectName="batchCancel", enabled=False)
        self.close_button = QPushButton("Close", objectName="batchClose")
        self.pause_button.setToolTip("Hold the batch between files (the current file finishes)")
        self.cancel_button.setToolTip("Stop after the current file; Start again resumes")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for b in (self.start_button, self.pause_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        outer = QVBoxLayout(self)
        outer.addLayout(top, 1)
        outer.addWidget(self.progress)
        outer.addLayout(buttons)

        self.thread: BatchThread | None = None
        self.planner = BackgroundRunner("batch-plan", self)
        self.planner.done.connect(self._planned)
        self.planner.failed.connect(self._plan_failed)
        self._plan: Preview | None = None
        self._planned_options: BatchOptions | None = None
        self._start_when_planned = False
        self._close_when_stopped = False
        self._shut = False
        self._keep_rows = False  # after a run: its statuses and thumbnails stay until the form changes
        self._replan_timer = QTimer(self, singleShot=True, interval=250)
        self._replan_timer.timeout.connect(self.replan)
        self.form.changed.connect(self._form_changed)
        self.start_button.clicked.connect(self.start)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.form.restore_settings(app_settings.settings())
        self.replan()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self.running():
            self.form.refresh_models()  # a model may have been installed since the dialog was made

    # --- planning -------------------------------------------------------------------------------------

    def running(self) -> bool:
        return self.thread is not None

    def plan_ready(self) -> bool:
        """True when the list shows the plan of the current choices, so Start runs at once.

        A form change re-plans after a short delay on the background thread; until then the list
        may show the previous choices' plan and Start waits for the new one.
        """
        return (
            self._plan is not None
            and not self.planner.is_busy()
            and not self._replan_timer.isActive()
            and self._planned_options == self._current_options()
        )

    def _form_changed(self) -> None:
        self._keep_rows = False
        self._replan_timer.start()

    def replan(self) -> None:
        """Plan the current choices on the background thread (again once a running plan ends)."""
        if self.running():
            return
        try:
            options = self.form.options()
        except GptStudioError as exc:
            self._show_plan_problem(exc.message)
            return
        if not self.planner.start(lambda: (options, preview(options))):
            self._replan_timer.start()  # one is still listing: plan again when it is done

    def _show_plan_problem(self, text: str) -> None:
        self._plan, self._planned_options = None, None
        self.files.clear_rows()
        self.plan_label.setText(text)
        self.start_button.setEnabled(False)
        self._start_when_planned = False

    def _plan_failed(self, exc: object) -> None:
        self._show_plan_problem(exc.message if isinstance(exc, GptStudioError) else str(exc))

    def _planned(self, value: Any) -> None:
        options, plan = value
        if self._shut or self.running() or options != self._current_options():
            return  # the choices changed meanwhile; their own plan follows
        self._plan, self._planned_options = plan, options
        self.files.show_plan(plan, keep=self._keep_rows)
        count, done = len(plan.items), len(plan.already_done)
        text = f"{count} image{'s' * (count != 1)} to process."
        if done:
            text += f" {done} already done, will be skipped."
        self.plan_label.setText(text if count else "No images in this folder match.")
        self.start_button.setEnabled(count > 0)
        if self._start_when_planned:
            self._start_when_planned = False
            self.start()

    def _current_options(self) -> BatchOptions | None:
        try:
            return self.form.options()
        except GptStudioError:
            return None

    # --- running ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start (or resume) the batch; if the plan is stale, plan first and start when it is ready."""
        if self.running():
            return
        options = self._current_options()
        if options is None or options != self._planned_options or self.planner.is_busy():
            self._start_when_planned = True
            self.replan()
            return
        s = app_settings.settings()
        self.form.save_settings(s)
        s.sync()
        thread = BatchThread(options, self)
        thread.file_started.connect(self.files.file_started)
        thread.file_recorded.connect(self.files.file_recorded)
        thread.thumbnail_ready.connect(self.files.thumbnail)
        thread.progress.connect(self._progress)
        thread.finished_batch.connect(self._finished)
        thread.failed.connect(self._failed)
        thread.finished.connect(self._thread_ended)
        self.thread = thread
        self._set_running(True)
        self.progress.setValue(0)
        self.status.setText("Loading the model…")
        thread.start()

    def _set_running(self, on: bool) -> None:
        self.form.setEnabled(not on)
        self.start_button.setEnabled(not on)
        self.pause_button.setEnabled(on)
        self.cancel_button.setEnabled(on)
        if not on:
            self.pause_button.setChecked(False)

    def _pause_toggled(self, paused: bool) -> None:
        if self.thread is None:
            return
        if paused:
            self.thread.pause()
            self.status.setText("Paused: the file(s) on the model finish, then nothing starts.")
        else:
            self.thread.resume()
            self.status.setText("Resumed.")
        self.pause_button.setText("Resume" if paused else "Pause")

    def cancel(self) -> None:
        """Stop after the current file; Start resumes from there."""
        if self.thread is not None:
            self.thread.cancel()
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status.setText("Stopping after the current file…")

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(fraction * 1000))
        if not self.pause_button.isChecked() and self.cancel_button.isEnabled():
            self.status.setText(message)

    def _finished(self, summary: BatchSummary) -> None:
        self.files.mark_not_started()
        if not summary.cancelled:
            self.progress.setValue(1000)
        line = summary.line()
        self.status.setText(line[:1].upper() + line[1:])

    def _failed(self, exc: object) -> None:
        self.status.setText("The batch did not run.")
        if isinstance(exc, GptStudioError):
            error_dialog(self, exc)
        else:
            QMessageBox.warning(self, "Batch", f"The batch stopped: {exc}")

    def _thread_ended(self) -> None:
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        if self._shut:
            return
        self._set_running(False)
        if self._close_when_stopped:
            self._close_when_stopped = False
            self.close()
        else:
            self._keep_rows = True
            self._replan_timer.start()  # the counts of what is done have changed

    # --- closing ------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running():
            event.ignore()
            if self._close_when_stopped or self.confirm_stop():
                self._close_when_stopped = True
                self.cancel()
            return
        s = app_settings.settings()
        self.form.save_settings(s)
        s.sync()
        super().closeEvent(event)

    def confirm_stop(self) -> bool:
        box = QMessageBox(self)
        box.setObjectName("stopBatch")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Batch running")
        box.setText("A batch is running. Stop it after the current file and close?")
        box.setInformativeText("Finished files are kept; Start in the same output folder resumes it.")
        SB = QMessageBox.StandardButton
        box.setStandardButtons(SB.Yes | SB.No)
        box.setDefaultButton(SB.No)
        return box.exec() == SB.Yes

    def shutdown(self, grace_s: float = CLOSE_GRACE_S) -> bool:
        """The window is closing: stop after the current file (or drop it after ``grace_s``) and join.

        Returns False only if the thread would not stop even then.
        """
        self._shut = True
        self._replan_timer.stop()
        self.planner.wait()
        thread = self.thread
        if thread is None:
            return True
        thread.cancel()
        if not thread.wait(int(grace_s * 1000)):
            thread.runner.abort()
            if not thread.wait(int(grace_s * 1000)):
                return False
        self._thread_ended()
        return True
