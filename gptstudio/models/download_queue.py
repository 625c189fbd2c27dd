"""A queue of downloads run one after another on one background thread.

The GUI and the CLI both need "fetch these files, in this order, off my thread, tell me how it goes
and let me cancel one": one worker thread keeps the bandwidth on one file at a time (so the first
model is usable soonest) and makes two pulls of the same file in one process impossible. Callbacks
run on the worker thread; the GUI forwards them to Qt signals, the CLI prints them.

Import it from :mod:`gptstudio.models.download`, which re-exports it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gptstudio.core.errors import CancelledError
from gptstudio.core.progress import TaskState

if TYPE_CHECKING:
    from gptstudio.models.download import DownloadProgress, FileSpec

_log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"


class DownloadJob:
    """One queued piece of work: its status, progress, result or error, and its cancel switch."""

    def __init__(
        self, label: str, run: Callable[[TaskState], Any], on_finished: Callable[[DownloadJob], None] | None
    ) -> None:
        self.label = label
        self.state = TaskState()
        self.status = QUEUED
        self.progress: DownloadProgress | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self._run, self._on_finished = run, on_finished
        self._finished = threading.Event()

    def cancel(self) -> None:
        """Stop the job: a queued one never starts, a running one stops at its next chunk."""
        self.state.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished one way or another; False on timeout."""
        return self._finished.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def _execute(self) -> None:
        if self.state.cancelled:
            self.status, self.error = CANCELLED, CancelledError()
        else:
            self.status = RUNNING
            try:
                self.result = self._run(self.state)
                self.status = DONE
            except CancelledError as exc:
                self.status, self.error = CANCELLED, exc
            except Exception as exc:  # reported through the job, never kills the worker
                self.status, self.error = FAILED, exc
        self._finished.set()
        if self._on_finished is not None:
            try:
                self._on_finished(self)
            except Exception:
                _log.exception("on_finished callback of download %s failed", self.label)


class DownloadQueue:
    """Runs submitted jobs in submission order on one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[DownloadJob | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pending: list[DownloadJob] = []

    def submit(
        self,
        spec: FileSpec,
        dest_dir: Path,
        *,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        on_finished: Callable[[DownloadJob], None] | None = None,
        **options: Any,
    ) -> DownloadJob:
        """Queue :func:`download_file` for ``spec``; ``options`` are its retries/stall_timeout/backoff."""
        from gptstudio.models.download import download_file

        def run(state: TaskState) -> Any:
            def progress(p: DownloadProgress) -> None:
                job.progress = p
                if on_progress is not None:
                    on_progress(p)

            return download_file(spec, Path(dest_dir), state=state, on_progress=progress, **options)

        job = DownloadJob(spec.name, run, on_finished)
        return self._enqueue(job)

    def submit_call(
        self,
        label: str,
        run: Callable[[TaskState], Any],
        *,
        on_finished: Callable[[DownloadJob], None] | None = None,
    ) -> DownloadJob:
        """Queue any ``run(state)``, e.g. "download every file of a model, then record it in the store"."""
        return self._enqueue(DownloadJob(label, run, on_finished))

    @property
    def pending(self) -> list[DownloadJob]:
        """Jobs not finished yet (running first), in the order they will run."""
        with self._lock:
            self._pending = [job for job in self._pending if not job.finished]
            return list(self._pending)

    def close(self, *, cancel: bool = False, timeout: float | None = None) -> None:
        """Accept no more jobs; optionally cancel the pending ones; wait for the worker to end."""
        with self._lock:
            self._closed = True
            pending, thread = list(self._pending), self._thread
        if cancel:
            for job in pending:
                job.cancel()
        self._jobs.put(None)
        if thread is not None:
            thread.join(timeout)

    def _enqueue(self, job: DownloadJob) -> DownloadJob:
        with self._lock:
            if self._closed:
                raise RuntimeError("this DownloadQueue was closed")
            self._pending.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="gptstudio-downloads", daemon=True)
                self._thread.start()
        self._jobs.put(job)
        return job

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job._execute()
