"""Tools > Train…: fine-tune a model on a folder of your own photos.

A view of the window's :class:`~gptstudio.app.train_run.TrainingRun`: the form on the left
describes the run; on the right the data summary and the time/memory estimate the trainer measured
(with a warning when it will not fit), the loss curve, the validation previews, and the steps,
speed and time left. Non-modal and one per window; closing it leaves the run going, and opening it
again redraws everything from the run's state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.train_events import RunState, format_bytes, format_seconds
from gptstudio.app.train_form import TrainForm
from gptstudio.app.train_run import TrainingFailed, TrainingRun
from gptstudio.app.train_settings import (
    CHECKPOINTS,
    EVENTS_FILE,
    SETTINGS_FILE,
    TRAIN_TASKS,
    check,
    last_run_settings,
    latest_runs,
    load_settings,
    run_dir,
    save_settings,
    training_root,
)
from gptstudio.app.train_views import LossCurve, PreviewStrip
from gptstudio.core.errors import GptStudioError, InvalidRequestError

WARN = "color: #d9534f; font-weight: bold;"

STATUS_TEXT = {
    "idle": "Choose a folder and press Start.",
    "starting": "Starting: reading the folder and measuring a few steps…",
    "resuming": "Resuming from the last checkpoint…",
    "pausing": "Pausing after this step (a checkpoint is written)…",
    "paused": "Paused. Resume carries on from here.",
    "stopping": "Stopping: writing a checkpoint…",
    "cancelled": "Cancelled. Resume continues from the last checkpoint.",
}


class TrainDialog(QDialog):
    def __init__(self, run: TrainingRun, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainDialog")
        self.setWindowTitle("Train a model on your photos")
        self.setModal(False)
        self.resize(1100, 720)
        self.run = run
        self.form = TrainForm()
        self.load_button = QPushButton("Load settings…", objectName="trainLoad")
        self.load_button.setToolTip("Load the settings of an earlier run (its settings.json)")
        self.save_button = QPushButton("Save settings…", objectName="trainSave")
        files = QHBoxLayout()
        files.addWidget(self.load_button)
        files.addWidget(self.save_button)
        files.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.form)
        left.addLayout(files)
        left.addStretch(1)

        self.data_label = QLabel(objectName="trainData", wordWrap=True)
        self.estimate_label = QLabel(objectName="trainEstimate", wordWrap=True)
        self.warning_label = QLabel(objectName="trainWarning", wordWrap=True)
        self.warning_label.setStyleSheet(WARN)
        self.warning_label.hide()
        self.curve = LossCurve()
        self.previews = PreviewStrip()
        right = QVBoxLayout()
        for w in (self.data_label, self.estimate_label, self.warning_label):
            right.addWidget(w)
        right.addWidget(self.curve, 3)
        right.addWidget(self.previews, 2)
        top = QHBoxLayout()
        form_box = QWidget()
        form_box.setLayout(left)
        form_box.setMaximumWidth(420)
        top.addWidget(form_box)
        top.addLayout(right, 1)

        self.progress = QProgressBar(objectName="trainProgress", minimum=0, maximum=1000, textVisible=True)
        self.status = QLabel(objectName="trainStatus", wordWrap=True)
        self.start_button = QPushButton("Start", objectName="trainStart", default=True)
        self.pause_button = QPushButton("Pause", objectName="trainPause")
        self.pause_button.setToolTip("Hold the run after this step (it writes a checkpoint)")
        self.resume_button = QPushButton("Resume", objectName="trainResume")
        self.resume_button.setToolTip(
            "Carry on a paused run, or continue a cancelled one from its checkpoint"
        )
        self.cancel_button = QPushButton("Cancel", objectName="trainCancel")
        self.cancel_button.setToolTip("Stop with a checkpoint; Resume continues later")
        self.close_button = QPushButton("Close", objectName="trainClose")
        self.close_button.setToolTip("Close this window; the run goes on")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for b in (
            self.start_button,
            self.pause_button,
            self.resume_button,
            self.cancel_button,
            self.close_button,
        ):
            buttons.addWidget(b)
        outer = QVBoxLayout(self)
        outer.addLayout(top, 1)
        outer.addWidget(self.progress)
        outer.addLayout(buttons)

        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.run.pause)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button.clicked.connect(self.run.cancel)
        self.close_button.clicked.connect(self.close)
        self.load_button.clicked.connect(self.load_dialog)
        self.save_button.clicked.connect(self.save_dialog)
        self.form.folder_checked.connect(lambda _ok, _text: self._update_buttons())
        self.form.folder_edit.textChanged.connect(self._update_buttons)
        self.run.changed.connect(self._run_changed)
        self.run.ended.connect(self._ended)
        if self.run.settings is not None:
            self.form.set_settings(self.run.settings)
        else:
            last = last_run_settings()  # the last run's settings are offered as the start
            if last is not None:
                self.form.set_settings(last)
        self.redraw()

    # --- actions -------------------------------------------------------------------------------------

    def start(self) -> None:
        settings = self.form.settings()
        try:
            if settings.base is None:
                label = TRAIN_TASKS[settings.task].split(" (")[0]
                text = f"No model to start from is installed for {label}: Models… installs one."
                raise InvalidRequestError(text)
            check(settings)
        except GptStudioError as exc:
            self.status.setText(exc.message)
            self.status.setStyleSheet(WARN)
            return
        resume = False
        folder = run_dir(settings)
        if (folder / EVENTS_FILE).exists() or any((folder / CHECKPOINTS).glob("*")):
            choice = self._ask_existing(settings.name)
            if choice is None:
                return
            resume = choice
        self.status.setStyleSheet("")
        try:
            self.run.start(settings, resume=resume)
        except GptStudioError as exc:
            error_dialog(self, exc)

    def _ask_existing(self, name: str) -> bool | None:
        """A run of this name exists: True = resume it, False = start over, None = do nothing."""
        box = QMessageBox(self)
        box.setObjectName("trainExists")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Run exists")
        box.setText(f"A run named “{name}” exists. Continue it from its last checkpoint, or start over?")
        box.setInformativeText("Starting over replaces its curve and checkpoints. Or change the name.")
        resume = box.addButton("Continue", QMessageBox.ButtonRole.AcceptRole)
        over = box.addButton("Start over", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is resume else False if clicked is over else None

    def resume(self) -> None:
        try:
            self.run.resume()
        except GptStudioError as exc:
            error_dialog(self, exc)

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load training settings", str(training_root()), "Training settings (*.json)"
        )
        if path:
            self.load_settings(path)

    def load_settings(self, path: str) -> bool:
        try:
            self.form.set_settings(load_settings(path))
        except InvalidRequestError as exc:
            error_dialog(self, exc)
            return False
        return True

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save training settings", str(training_root() / SETTINGS_FILE), "Training settings (*.json)"
        )
        if path:
            try:
                save_settings(self.form.settings(), path)
            except GptStudioError as exc:
                error_dialog(self, exc)

    # --- drawing the run ----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self.run.running():
            self.form.refresh_models()  # a model may have been installed since the dialog was made
        self.redraw()  # while hidden it drew nothing: catch up with the run

    def _run_changed(self) -> None:
        if self.isVisible():
            self.redraw()

    def redraw(self) -> None:
        state = self.run.state
        self._draw_data(state)
        self._draw_estimate(state)
        self.curve.set_points(*state.curve())
        self.previews.set_previews(state.previews)
        self._draw_progress(state)
        self._update_buttons()

    def _draw_data(self, state: RunState) -> None:
        d = state.data
        if not d:
            self.data_label.setText("")
            return
        text = (
            f"<b>Data</b>: {d.get('images', 0)} images — {d.get('train', 0)} to train on, "
            f"{d.get('val', 0)} to validate."
        )
        sizes = d.get("sizes") or {}
        if sizes.get("min") and sizes.get("max"):
            (w0, h0), (w1, h1) = sizes["min"], sizes["max"]
            text += f" Sizes {w0}×{h0} to {w1}×{h1}."
        skipped = d.get("skipped") or []
        if skipped:
            shown = "; ".join(f"{Path(p).name} ({why})" for p, why in skipped[:3])
            more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
            text += f" <span style='color:#d9534f'>Skipped {len(skipped)}: {shown}{more}.</span>"
        self.data_label.setText(text)

    def _draw_estimate(self, state: RunState) -> None:
        e = state.estimate
        if not e:
            self.estimate_label.setText("")
            self.warning_label.hide()
            return
        device = "GPU" if e.get("device") == "cuda" else "CPU"
        memory = "GPU memory" if device == "GPU" else "memory"
        per_step = e.get("seconds_per_step")
        speed = (  # null when the trial steps could not run (out of memory)
            f"{per_step:.2f} s per step, about {format_seconds(e.get('total_seconds'))} in all"
            if isinstance(per_step, (int, float))
            else "speed not measured"
        )
        self.estimate_label.setText(
            f"<b>Estimate</b> on the {device}: {speed}; {format_bytes(e.get('memory_bytes'))} of "
            f"{memory} ({format_bytes(e.get('available_bytes'))} free)."
        )
        warning = e.get("warning")
        if not e.get("fits", True) and not warning:
            warning = f"This run needs more {memory} than is free: choose a quicker preset or close programs."
        self.warning_label.setText(f"⚠ {warning}" if warning else "")
        self.warning_label.setVisible(bool(warning))

    def _draw_progress(self, state: RunState) -> None:
        if state.steps:
            self.progress.setValue(round(1000 * min(state.step, state.steps) / state.steps))
            self.progress.setFormat(f"step {state.step} of {state.steps}")
        else:
            self.progress.setValue(0)
            self.progress.setFormat("")
        self.status.setStyleSheet(WARN if state.status == "failed" else "")
        if state.status == "running":
            loss = state.last_loss()
            parts = [f"Step {state.step} of {state.steps}"]
            if loss is not None:
                parts.append(f"loss {loss:.4g}")
            if state.steps_per_second:
                parts.append(f"{state.steps_per_second:.2f} steps/s")
            parts.append(f"{format_seconds(state.seconds_left)} left")
            self.status.setText(" · ".join(parts))
        elif state.status == "done":
            task = TRAIN_TASKS.get(self.run.settings.task if self.run.settings else "", "its task")
            took = f" in {format_seconds(state.seconds)}" if state.seconds is not None else ""
            change = state.psnr_change()
            psnr = f" Validation PSNR {change[0]:.2f} → {change[1]:.2f} dB." if change else ""
            self.status.setText(
                f"Done{took}.{psnr} The new model “{state.model_id}” is in the model list for "
                f"{task.split(' (')[0]}."
            )
        elif state.status == "failed":
            first = (state.error or "The training stopped.").split("\n\n")[0]
            self.status.setText(f"Training failed: {first}")
            self.status.setToolTip(state.error or "")
        else:
            self.status.setText(STATUS_TEXT.get(state.status, state.status))

    def _update_buttons(self) -> None:
        status = self.run.state.status
        live = self.run.running()
        self.form.setEnabled(not live)
        self.load_button.setEnabled(not live)
        self.start_button.setEnabled(not live and bool(self.form.folder_edit.text().strip()))
        self.pause_button.setEnabled(live and status in ("starting", "running", "resuming"))
        self.cancel_button.setEnabled(live and status not in ("stopping", "done", "cancelled", "failed"))
        self.resume_button.setEnabled((live and status == "paused") or self.run.can_resume())

    def _ended(self, status: str) -> None:
        if status == "failed" and self.isVisible():
            message, _, details = (self.run.state.error or "The training stopped.").partition("\n\n")
            error_dialog(self, TrainingFailed(message, details=details or None))

    # --- closing -------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.form.scanner.wait()
        super().closeEvent(event)


def show_for(window: Any) -> TrainDialog:
    """Show ``window``'s Train dialog, making the window's run and the dialog on first use."""
    if window.training is None:
        window.training = TrainingRun(window)

        def ready(model_id: str) -> None:
            window.panel.refresh_tasks()  # the registry was re-read: the new model is in the lists
            window._notify(f"Training finished: the model “{model_id}” is ready in the task panel.", 15000)

        def ended(status: str) -> None:
            if status == "failed" and not (window.train_dialog and window.train_dialog.isVisible()):
                window._notify("Training failed: Tools > Train… says why.", 30000)

        window.training.model_ready.connect(ready)
        window.training.ended.connect(ended)
        runs = latest_runs()
        if runs:  # a run an earlier session kept going: show it again
            window.training.attach(runs[0])
    if window.train_dialog is None:
        window.train_dialog = TrainDialog(window.training, window)
    dialog: TrainDialog = window.train_dialog
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
