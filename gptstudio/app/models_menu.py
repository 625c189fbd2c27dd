"""The Models menu's glue: the Models dialog (one per window) and the download thread behind it.

The download thread belongs to the window, not the dialog, so closing the dialog does not stop a
download; when the dialog is closed, progress and failures are reported in the status bar.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.model_downloads import ModelDownloads, ModelJob
from gptstudio.app.models_dialog import ModelsDialog
from gptstudio.app.task_panel import TaskPanel
from gptstudio.core.errors import GptStudioError
from gptstudio.core.vocabulary import TASK_LABELS


class ModelsMenu(QObject):
    def __init__(self, widget: QWidget, panel: TaskPanel, notify: Callable[..., None]) -> None:
        super().__init__(widget)
        self.widget, self.panel, self.notify = widget, panel, notify
        self._downloads: ModelDownloads | None = None
        self._models_dialog: ModelsDialog | None = None

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

    def show(self, task: str | None = None) -> ModelsDialog:
        """The Models dialog (one per window), filtered to ``task`` (None: every task)."""
        if self._models_dialog is None:
            self._models_dialog = ModelsDialog(self.widget, task or None, downloads=self.downloads)
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
            self.notify(f"{job.label}: {job.message}", 3000)

    def _download_finished(self, job: ModelJob, model: object) -> None:
        tasks = ", ".join(TASK_LABELS.get(t, t) for t in getattr(model, "tasks", ()))
        self.notify(f"{getattr(model, 'name', job.label)} is ready for {tasks}.", 8000)

    def _download_failed(self, job: ModelJob, error: GptStudioError) -> None:
        if not self._models_dialog_open():  # the dialog shows its own
            error_dialog(self.widget, error)

    def confirm_stop_downloads(self) -> bool:
        """Closing while models download: they stop, and the next Download resumes them."""
        if self._downloads is None or not self._downloads.busy():
            return True
        box = QMessageBox(self.widget)
        box.setObjectName("stopDownloads")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Downloads in progress")
        box.setText("Models are still downloading. Quit anyway?")
        box.setInformativeText("What was downloaded is kept: Download resumes it next time.")
        SB = QMessageBox.StandardButton
        box.setStandardButtons(SB.Yes | SB.No)
        box.setDefaultButton(SB.No)
        return box.exec() == SB.Yes

    def shutdown(self) -> bool:
        """Stop the download thread if it ever started; False when a download did not stop in time."""
        return self._downloads is None or self._downloads.shutdown()
