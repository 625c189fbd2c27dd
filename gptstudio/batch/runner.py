"""The local batch pipeline: decoding, the model and writing overlap, memory stays flat.

Three stages run at once, joined by small bounded queues:

* a prefetch thread hashes each input, decides (done before? output in the way?) and decodes the
  image and its mask;
* the model runs on the calling thread — where a GUI worker or the CLI called from — with the
  engine loaded once for the whole run (the registry's cache);
* a writer thread encodes, writes atomically and appends the manifest record.

The queues hold at most a couple of images each, so a folder of 10,000 photos needs the memory of
a handful, and decoding and encoding hide behind the model's work.

Classical OpenCV engines are single-threaded for most of their work and release the GIL, so for
an engine that runs only on the CPU, one file per core is in flight (extra model threads beside
the calling one) with OpenCV's own thread pool set to one thread meanwhile. Engines that use a
seed stay one at a time: seeding is process-wide.

Stopping: ``state.cancel()`` (or :meth:`BatchRunner.cancel`, what the first Ctrl-C does) lets the
file(s) on the model finish and be written, starts no more, and ends the manifest with a
"cancelled" record; :meth:`BatchRunner.abort` also stops the current file between its tiles.
:meth:`BatchRunner.pause` holds the model before its next file (the files on it finish), for the
app's Pause button; the time left leaves the paused time out.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gptstudio.batch.manifest import DONE, FAILED, SKIPPED
from gptstudio.batch.options import BatchOptions
from gptstudio.batch.session import BatchSummary, RecordCallback, Session
from gptstudio.batch.work import Job, decide, failure_reason, load_inputs, record, run_model, write_output
from gptstudio.core.errors import CancelledError
from gptstudio.core.progress import CancelToken, TaskState
from gptstudio.engines.base import EngineInfo

#: Most files in flight for CPU-only engines (one per core beyond this gains nothing on a laptop).
MAX_CPU_WORKERS = 8


def files_in_flight(info: EngineInfo, options: BatchOptions) -> int:
    """How many files the model works on at once: one, or one per core for CPU-only engines."""
    if options.workers is not None:
        return options.workers
    if info.devices == ("cpu",) and "seed" not in info.uses:
        return max(1, min(os.cpu_count() or 1, MAX_CPU_WORKERS))
    return 1


@contextmanager
def _opencv_threads(count: int | None) -> Iterator[None]:
    """Give OpenCV ``count`` threads while files run side by side (None = leave it alone)."""
    if count is None:
        yield
        return
    import cv2

    saved = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(saved)


class BatchRunner:
    """Run one batch locally; build it, then call :meth:`run` (once) from the thread that owns it."""

    def __init__(
        self,
        options: BatchOptions,
        state: TaskState | None = None,
        on_record: RecordCallback | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self.state = state or TaskState()
        self.on_record = on_record
        #: ``on_start(rel)``: a file goes onto the model (from a model thread), so a list can say "running".
        self.on_start = on_start
        self._abort = CancelToken()
        self._running = threading.Event()  # cleared while paused
        self._running.set()

    def cancel(self) -> None:
        """Stop after the file(s) now on the model; they are finished and written."""
        self.state.cancel()

    def abort(self) -> None:
        """Stop now: the current file is dropped between tiles (nothing half-written)."""
        self.state.cancel()
        self._abort.cancel()
        self._running.set()

    def pause(self) -> None:
        """Start no new file until :meth:`resume` (or a cancel); the file(s) on the model finish."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def run(self) -> BatchSummary:
        session = Session(self.options, self.state, self.on_record)
        workers = files_in_flight(session.info, self.options)
        cpu_parallel = workers > 1 and session.info.devices == ("cpu",)
        with _opencv_threads(1 if cpu_parallel else None):
            return _Pipeline(session, workers, self._abort, self._running, self.on_start).run()


def run_batch(
    options: BatchOptions, state: TaskState | None = None, on_record: RecordCallback | None = None
) -> BatchSummary:
    """Run a batch on this machine and return its summary (see :class:`BatchRunner`)."""
    return BatchRunner(options, state, on_record).run()


class _Pipeline:
    def __init__(
        self,
        session: Session,
        workers: int,
        abort: CancelToken,
        running: threading.Event | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.s = session
        self.workers = workers
        self.abort = abort
        self.running = running
        self.on_start = on_start
        self.decoded: queue.Queue[Job | None] = queue.Queue(maxsize=workers + 1)
        self.results: queue.Queue[Job | None] = queue.Queue(maxsize=workers + 1)
        self.errors: list[BaseException] = []

    def run(self) -> BatchSummary:
        s = self.s
        prefetch = threading.Thread(target=self._guard(self._prefetch), name="batch-prefetch", daemon=True)
        writer = threading.Thread(
            target=self._guard(self._write, self._drain_results), name="batch-writer", daemon=True
        )
        extra = [
            threading.Thread(
                target=self._guard(self._model_loop, self._drain_one_sentinel),
                name=f"batch-model-{i}",
                daemon=True,
            )
            for i in range(1, self.workers)
        ]
        self.prefetch_thread = prefetch
        prefetch.start()
        writer.start()
        for t in extra:
            t.start()
        interrupted = False
        try:
            self._model_loop()
        except BaseException:  # KeyboardInterrupt in the calling thread: stop everything cleanly
            interrupted = True
            s.state.cancel()
            self.abort.cancel()
            self._drain_one_sentinel()
            raise
        finally:
            for t in extra:
                t.join()
            self.results.put(None)
            writer.join()
            prefetch.join()
            summary = s.close(cancelled=interrupted or s.stopping)
        if self.errors:
            raise self.errors[0]
        return summary

    def _guard(self, body: Callable[[], None], drain: Callable[[], None] | None = None) -> Callable[[], None]:
        """A stage that dies of a bug must not hang the others: record it, stop, keep draining."""

        def wrapped() -> None:
            try:
                body()
            except BaseException as exc:
                self.errors.append(exc)
                self.s.state.cancel()
                self.abort.cancel()
                if drain is not None:
                    drain()

        return wrapped

    def _drain_one_sentinel(self) -> None:
        """Empty the decoded queue up to one end marker, so the prefetch thread can finish."""
        while True:
            try:
                job = self.decoded.get(timeout=0.2)
            except queue.Empty:
                if not self.prefetch_thread.is_alive():
                    return
                continue
            if job is None:
                return

    def _drain_results(self) -> None:
        while self.results.get() is not None:
            pass

    # --- stages -----------------------------------------------------------------------------------

    def _prefetch(self) -> None:
        s = self.s
        try:
            for item in s.items:
                if s.stopping:
                    break
                job = Job(item)
                decide(s.ctx, job, s.previous(item))
                if job.action != "run":
                    s.finish(record(s.ctx, job, SKIPPED if job.action == "skip" else FAILED))
                    continue
                try:
                    load_inputs(s.ctx, job)
                except Exception as exc:
                    job.reason = failure_reason(exc)
                    s.finish(record(s.ctx, job, FAILED))
                    continue
                self.decoded.put(job)
        finally:
            for _ in range(self.workers):
                self.decoded.put(None)

    def _model_loop(self) -> None:
        s = self.s
        while True:
            job = self.decoded.get()
            if job is None:
                return
            self._wait_while_paused()
            if s.stopping:
                continue  # decoded but not started: counted as not started at the end
            s.file_started()
            if self.on_start is not None:
                self.on_start(job.item.rel)
            finished = s.summary.done + s.summary.skipped + s.summary.failed

            def progress(fraction: float, message: str, rel: str = job.item.rel, n: int = finished) -> None:
                s.report(n, rel, within=fraction)

            try:
                run_model(s.ctx, job, TaskState(callback=progress, token=self.abort))
            except CancelledError:
                continue  # aborted inside the file: nothing written, not recorded
            except Exception as exc:
                job.reason, job.image, job.mask = failure_reason(exc), None, None
                s.finish(record(s.ctx, job, FAILED))
                continue
            self.results.put(job)

    def _wait_while_paused(self) -> None:
        """Hold here while paused (a cancel ends the pause); the pause is not counted as work time."""
        if self.running is None or self.running.is_set():
            return
        began = time.perf_counter()
        while not self.running.wait(0.1):
            if self.s.stopping:
                break
        self.s.exclude_pause(time.perf_counter() - began)

    def _write(self) -> None:
        s = self.s
        while True:
            job = self.results.get()
            if job is None:
                return
            try:
                write_output(s.ctx, job)
            except Exception as exc:
                job.reason, job.result = failure_reason(exc), None
                s.finish(record(s.ctx, job, FAILED))
                continue
            rec = record(s.ctx, job, DONE)
            job.result = None
            s.finish(rec)
