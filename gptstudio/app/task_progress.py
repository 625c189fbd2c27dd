"""The bottom of the task panel: Run/Cancel, the progress bar with the time left, status, preview.

Why a widget of its own: what a person sees while jobs run is a small state machine — idle, one
job running, more waiting behind it, the result being drawn — and it must never claim more than
is true. So Run says "Queue" while a job runs (a second click adds a job, it does not restart the
first), the panel counts the jobs that wait, the bar never reaches 100 % nor says "Done" before
the result is on the canvas (:meth:`RunBox.finish` is called after the edit landed), and the time
left appears only once the rate is known (after :attr:`RunBox.eta_after_s`), because an estimate
from the first second of a job that loads a model is wrong by a wide margin.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

#: The bar's range: a thousand steps, so a slow job still moves visibly.
STEPS = 1000


def time_left_text(fraction: float, elapsed: float) -> str:
    """The bar's text, e.g. "42 % — about 12 s left", from the mean rate so far (minutes past 90 s)."""
    percent = int(fraction * 100)
    if fraction <= 0.0:
        return f"{percent} %"
    left = elapsed * (1.0 - fraction) / fraction
    if left >= 90:
        return f"{percent} % — about {round(left / 60)} min left"
    return f"{percent} % — about {max(1, round(left))} s left"


class RunBox(QWidget):
    """Run (or Queue), Cancel, the progress bar, the status line and the live preview."""

    #: Seconds into a job before the time left is shown (the first seconds' rate misleads).
    eta_after_s = 2.5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Run the task (Ctrl+Return)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        # a click on Cancel must not pull the keyboard focus out of the canvas
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)
        outer.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, STEPS)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        outer.addWidget(self.progress)
        self.queue_label = QLabel()
        self.queue_label.setObjectName("queueLabel")
        self.queue_label.hide()
        outer.addWidget(self.queue_label)
        self.status = QLabel("Ready")
        self.status.setObjectName("taskStatus")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.preview = QLabel()
        self.preview.setObjectName("preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.hide()
        outer.addWidget(self.preview)
        #: The clock the time left is measured with (tests may replace it).
        self.clock: Callable[[], float] = time.monotonic
        self._job_started: float | None = None

    def set_running(self, running: bool) -> None:
        """Cancel is live while jobs run; Run stays live and says it queues behind them."""
        self.cancel_button.setEnabled(running)
        self.run_button.setText("Queue" if running else "Run")
        self.run_button.setToolTip(
            "Add this task to the queue: it runs on the image as it is when its turn comes (Ctrl+Return)"
            if running
            else "Run the task (Ctrl+Return)"
        )
        if running:
            self.progress.setValue(0)
            self.preview.clear()
            self.preview.hide()
        else:
            self.set_waiting(0)
            self._job_started = None
            self.progress.setTextVisible(False)

    def set_waiting(self, count: int) -> None:
        """How many jobs wait behind the running one ("2 jobs waiting"); hidden at 0."""
        self.queue_label.setText(f"{count} job{'s' if count != 1 else ''} waiting")
        self.queue_label.setVisible(count > 0)

    def job_started(self) -> None:
        """A job began: the time left is measured from here."""
        self._job_started = self.clock()
        self.progress.setValue(0)
        self.progress.setTextVisible(False)

    def set_progress(self, fraction: float, message: str) -> None:
        """A running job's progress: capped below full, since the result is not drawn yet."""
        fraction = min(max(fraction, 0.0), 0.999)
        self.progress.setValue(min(round(fraction * STEPS), STEPS - 1))
        if message and message.strip().lower() != "done":
            self.status.setText(message)
        elapsed = None if self._job_started is None else self.clock() - self._job_started
        if elapsed is not None and elapsed >= self.eta_after_s and fraction >= 0.01:
            self.progress.setFormat(time_left_text(fraction, elapsed))
            self.progress.setTextVisible(True)
        else:
            self.progress.setTextVisible(False)

    def finish(self, message: str) -> None:
        """The result is on the canvas: now the bar is full and the status says so."""
        self.progress.setValue(STEPS)
        self.progress.setTextVisible(False)
        self.status.setText(message)

    def stop(self, message: str) -> None:
        """A job failed, was cancelled or was dropped: an empty bar and why."""
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.status.setText(message)

    def reset(self) -> None:
        """Another image was opened: nothing said about the previous one stays."""
        self.stop("Ready")
        self.preview.clear()
        self.preview.hide()

    def set_preview(self, image: QImage) -> None:
        pixmap = QPixmap.fromImage(image)
        width = max(self.width() - 4, 64)
        self.preview.setPixmap(pixmap.scaledToWidth(min(width, pixmap.width() * 2)))
        self.preview.show()
