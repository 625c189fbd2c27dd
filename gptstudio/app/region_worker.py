"""The region thread: GrabCut, Segment Anything, the magic wand and grow/shrink/feather, off the
GUI thread, one job at a time, with the per-image state kept between clicks.

Why its own thread and not the task worker: the task worker may be busy for minutes with a
restoration or an inpaint, and a click on an object must answer in a second, not after that job.
This thread keeps the document's :class:`~gptstudio.tasks.regions.RegionSession` — the photo as
uint8 and the Segment Anything image embedding — so the embedding is computed once per image and
every later click reuses it. The GUI tells it to let go (:meth:`RegionWorkerController.release`)
when the document's image changes, so an old 24-MP image is not kept alive here.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from gptstudio.core.errors import GptStudioError
from gptstudio.core.imagedata import ImageData
from gptstudio.core.progress import TaskState


class RegionFailed(GptStudioError):
    """An unexpected failure in a region tool; the details carry the traceback."""

    title = "The selection failed"


@dataclass
class RegionJob:
    """``work(session_for)`` runs on the region thread; ``session_for(image, segmenter)`` gives
    the cached session of that image (made, or replaced, as needed)."""

    id: int
    work: Callable[[Callable[[ImageData, str], Any]], Any]


class RegionWorker(QObject):
    """Lives on the region thread; every slot runs there."""

    done = Signal(int, object)
    failed = Signal(int, object)
    status = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.session: Any = None
        self._key: tuple[int, str] | None = None

    def session_for(self, image: ImageData, segmenter: str) -> Any:
        """This image's session with ``segmenter`` ("grabcut" or a store model id)."""
        from gptstudio.tasks.regions import GRABCUT, RegionSession, load_segmenter

        key = (id(image), segmenter)
        if self.session is None or self._key != key or self.session.image is not image:
            model = None
            if segmenter != GRABCUT:
                self.status.emit("Loading the Segment Anything model…")
                model = load_segmenter(segmenter)
            self.session, self._key = RegionSession(image, model), key
        if self.session.segmenter is not None and self.session.embeddings == 0:
            self.status.emit("Reading the image (Segment Anything)…")
            self.session.prepare(TaskState())
        return self.session

    @Slot(object)
    def run(self, job: RegionJob) -> None:
        try:
            value = job.work(self.session_for)
        except GptStudioError as exc:
            self.failed.emit(job.id, exc)
        except Exception as exc:  # a bug must not kill the thread
            self.failed.emit(
                job.id, RegionFailed(f"{type(exc).__name__}: {exc}", details=traceback.format_exc())
            )
        else:
            self.done.emit(job.id, value)

    @Slot()
    def release(self) -> None:
        self.session, self._key = None, None


class RegionWorkerController(QObject):
    """The GUI thread's handle: owns the thread, numbers the jobs."""

    _run = Signal(object)
    _release = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self.thread = QThread()
        self.thread.setObjectName("gptstudio-regions")
        self.worker = RegionWorker()
        self.worker.moveToThread(self.thread)
        self._run.connect(self.worker.run)
        self._release.connect(self.worker.release)
        self.pending: set[int] = set()
        self.worker.done.connect(self._forget)
        self.worker.failed.connect(self._forget)
        self.thread.start()

    def submit(self, work: Callable[[Callable[[ImageData, str], Any]], Any]) -> int:
        job = RegionJob(next(self._ids), work)
        self.pending.add(job.id)
        self._run.emit(job)
        return job.id

    def _forget(self, job_id: int, *_: object) -> None:
        self.pending.discard(job_id)

    def busy(self) -> bool:
        return bool(self.pending)

    def release(self) -> None:
        """Drop the cached session (the image changed): the next job builds a new one."""
        self._release.emit()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        if not self.thread.isRunning():
            return True
        self.release()
        self.thread.quit()
        return bool(self.thread.wait(timeout_ms))
