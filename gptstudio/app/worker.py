"""The one long-lived worker: a QObject on its own QThread that runs task jobs from a queue.

The GUI thread never runs a model. It calls :meth:`WorkerController.submit` with a frozen request
and hears back only through signals: ``progress(job_id, fraction, message)``, ``preview(job_id,
QImage)``, ``finished(job_id, JobOutput)``, ``failed(job_id, GptStudioError)``, ``cancelled(job_id)``
and ``notice(job_id, text)``. Loaded models stay in the registry's LRU between jobs because the
worker lives as long as the window. Cancelling sets the job's token, which engines check between
steps and tiles. A GPU out-of-memory error (after the task already tried smaller tiles) is retried
on the CPU, and the user is told.
"""

from __future__ import annotations

import itertools
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from gptstudio.app.convert import thumbnail
from gptstudio.app.gc_pauses import heavy_imports, preload_torch_libraries
from gptstudio.app.history_pixels import Edit, capture
from gptstudio.app.landing import Region
from gptstudio.app.new_picture import quantized
from gptstudio.core.errors import CancelledError, GptStudioError, OutOfMemoryError
from gptstudio.core.progress import TaskState
from gptstudio.tasks.requests import Request, TaskResult

#: Progress and preview signals are rate-limited so a chatty engine cannot flood the GUI thread.
PROGRESS_INTERVAL_S = 0.05
PREVIEW_INTERVAL_S = 0.2


class JobCrashed(GptStudioError):
    """A bug or an unexpected failure inside a job; the details carry the traceback."""

    title = "The job failed"


@dataclass
class Job:
    id: int
    request: Request
    state: TaskState = field(default_factory=TaskState)


@dataclass
class JobOutput:
    """What a finished job hands to the GUI: the result and its pixels ready to draw."""

    result: TaskResult
    qimage: QImage
    #: Set when the job had to fall back (for example from the GPU to the CPU).
    notice: str | None = None
    #: The pixels a masked task (inpaint) changed; None for a whole-image task. Computed here so
    #: the GUI thread can apply just those pixels to the document as it is when the job lands.
    region: Region | None = None
    #: The changed box before and after, in the image's bit depth: the undo entry, made here.
    edit: Edit | None = None


def _is_oom(exc: BaseException) -> bool:
    from gptstudio.tasks.common import is_out_of_memory

    return isinstance(exc, OutOfMemoryError) or is_out_of_memory(exc)


class Worker(QObject):
    """Lives in the worker thread; every slot runs there."""

    started = Signal(int)
    progress = Signal(int, float, str)
    preview = Signal(int, QImage)
    finished = Signal(int, object)
    failed = Signal(int, object)
    cancelled = Signal(int)
    notice = Signal(int, str)
    device_found = Signal(str)

    @Slot()
    def probe_device(self) -> None:
        """Find the device name here, so importing torch never blocks the window."""
        try:
            from gptstudio.core.device import check_device_name, choose_device, describe_device

            with heavy_imports():  # torch: its objects must not make every later collection slow
                if not check_device_name(None).startswith("cpu"):  # "cpu" is named without torch
                    preload_torch_libraries()

                text = describe_device(choose_device(None))
        except Exception as exc:  # a broken CUDA install must not stop the editor
            text = f"CPU (GPU unavailable: {exc})"
        self.device_found.emit(text)

    @Slot(object)
    def run_job(self, job: Job) -> None:
        """Run one job. Jobs submitted meanwhile wait, in order, in this thread's event queue."""
        if job.state.cancelled:
            self.cancelled.emit(job.id)
            return
        self.started.emit(job.id)
        # The callbacks know the job by its id, never the Job: job -> state -> callback -> job
        # would be a reference cycle, and the request's 24-MP images in it would wait for a
        # full garbage collection (rare in a long session) instead of going with the job.
        job_id, last = job.id, {"progress": 0.0, "preview": 0.0}

        def on_progress(fraction: float, message: str) -> None:
            now = time.monotonic()
            if fraction >= 1.0 or now - last["progress"] >= PROGRESS_INTERVAL_S:
                last["progress"] = now
                self.progress.emit(job_id, float(fraction), message)

        def on_preview(image: object) -> None:
            now = time.monotonic()
            if now - last["preview"] >= PREVIEW_INTERVAL_S and isinstance(image, np.ndarray):
                last["preview"] = now
                self.preview.emit(job_id, thumbnail(image))

        job.state.callback = on_progress
        job.state.preview = on_preview
        try:
            self._run(job)
        finally:
            job.state.callback = job.state.preview = None

    def _run(self, job: Job) -> None:
        notice = None
        try:
            try:
                result = self._execute(job.request, job.state)
            except Exception as exc:
                if not _is_oom(exc) or job.request.device == "cpu":
                    raise
                notice = "The GPU ran out of memory, so this job ran on the CPU instead (slower)."
                self.notice.emit(job.id, notice)
                result = self._execute(replace(job.request, device="cpu"), job.state)
            output = self._landed(job.request, result, notice)
        except CancelledError:
            self.cancelled.emit(job.id)
        except GptStudioError as exc:
            self.failed.emit(job.id, exc)
        except MemoryError:
            self.failed.emit(
                job.id,
                OutOfMemoryError(
                    "There is not enough memory for this image. Close other programs or use a smaller image."
                ),
            )
        except Exception as exc:
            if _is_oom(exc):
                err: GptStudioError = OutOfMemoryError(
                    "The device ran out of memory.", details=traceback.format_exc()
                )
            else:
                err = JobCrashed(f"{type(exc).__name__}: {exc}", details=traceback.format_exc())
            self.failed.emit(job.id, err)
        else:
            self.finished.emit(job.id, output)

    @staticmethod
    def _landed(request: Request, result: TaskResult, notice: str | None) -> JobOutput:
        """The result quantized as Save writes it, with its edit of the input (none for a new picture)."""
        if request.image is None:  # Generate on an empty window: the picture becomes the document
            image, qimage = quantized(result.image)
            return JobOutput(replace(result, image=image), qimage, notice)
        landed = capture(request.image, result.image, getattr(request, "mask", None) is not None)
        result = replace(result, image=landed.image)
        return JobOutput(result, landed.qimage, notice, landed.region, landed.edit)

    def _execute(self, request: Request, state: TaskState) -> TaskResult:
        from gptstudio import tasks

        mask = getattr(request, "mask", None)
        if isinstance(mask, np.ndarray) and mask.dtype == np.uint8:
            # the GUI sends the mask as it paints it; 24 MP of float conversion belongs here
            request = replace(request, mask=np.divide(mask, np.float32(255), dtype=np.float32))

        return tasks.run(request, state)


class WorkerController(QObject):
    """The GUI thread's handle on the worker: owns the thread, numbers the jobs, cancels them."""

    _submit = Signal(object)
    _probe = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self.thread = QThread()
        self.thread.setObjectName("gptstudio-worker")
        self.worker = Worker()
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run_job)
        self._probe.connect(self.worker.probe_device)
        for signal in (self.worker.finished, self.worker.failed):
            signal.connect(self._forget)
        self.worker.cancelled.connect(self._forget)
        self.thread.start()

    def probe_device(self) -> None:
        self._probe.emit()

    def submit(self, request: Request) -> int:
        """Queue a job; returns its id. The request is frozen, so the GUI may keep editing."""
        job = Job(next(self._ids), request)
        self._jobs[job.id] = job
        self._submit.emit(job)
        return job.id

    def _forget(self, job_id: int, *_: Any) -> None:
        self._jobs.pop(job_id, None)

    def active_jobs(self) -> list[int]:
        return sorted(self._jobs)

    def cancel(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.state.cancel()

    def cancel_all(self) -> None:
        for job in list(self._jobs.values()):
            job.state.cancel()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Cancel everything and stop the thread; True when it stopped in time."""
        self.cancel_all()
        if not self.thread.isRunning():
            return True
        self.thread.quit()
        return bool(self.thread.wait(timeout_ms))
