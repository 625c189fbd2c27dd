"""Model downloads and imports off the GUI thread: one QObject worker on one QThread, queued jobs.

Why a second worker (and not the task worker): a 200 MB download must not hold up a denoise the
user starts meanwhile, and a long denoise must not hold up a download. Why not the downloader's own
queue thread: its callbacks would arrive on a plain Python thread, and every one of them would need
marshalling anyway; a QObject moved to a QThread gets queued signals for free, exactly as the task
worker does. The controller belongs to the main window, so downloads keep going when the Models
dialog is closed, and ``shutdown()`` (on closing the window) cancels and joins them: the ``.part``
files stay, and the next Download resumes them.
"""

from __future__ import annotations

import itertools
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from gptstudio.core.errors import CancelledError, GptStudioError
from gptstudio.core.progress import TaskState
from gptstudio.models import registry
from gptstudio.models.store import Store

#: At most this many progress signals a second per job: the downloader reports ~10, imports fewer.
PROGRESS_INTERVAL_S = 0.1


class ModelJobFailed(GptStudioError):
    """A bug or unexpected failure in a download or an import; the details carry the traceback."""

    title = "The model could not be installed"


@dataclass
class ModelJob:
    """A download of a catalog entry (``entry``) or an import of a weight file (``path``)."""

    id: int
    #: The catalog id being downloaded; for an import, "" until the store chose an id.
    model_id: str
    label: str
    entry: Any = None
    path: Path | None = None
    accept_licence: bool = False
    allow_torchscript: bool = False
    state: TaskState = field(default_factory=TaskState)
    fraction: float = 0.0
    message: str = "Waiting for the previous download…"
    running: bool = False

    @property
    def is_import(self) -> bool:
        return self.path is not None


class _Worker(QObject):
    """Lives in the download thread: every slot runs there, one job at a time, in order."""

    started = Signal(int)
    progress = Signal(int, float, str)
    finished = Signal(int, object)
    failed = Signal(int, object)
    cancelled = Signal(int)

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    @Slot(object)
    def run(self, job: ModelJob) -> None:
        if job.state.cancelled:
            self.cancelled.emit(job.id)
            return
        self.started.emit(job.id)
        last = [0.0]

        def on_progress(fraction: float, message: str) -> None:
            now = time.monotonic()
            if fraction >= 1.0 or now - last[0] >= PROGRESS_INTERVAL_S:
                last[0] = now
                self.progress.emit(job.id, float(fraction), message)

        job.state.callback = on_progress
        try:
            if job.path is not None:
                from gptstudio.models.importer import import_file

                model = import_file(job.path, self.store, state=job.state)
            else:
                from gptstudio.models import manager

                model = manager.pull(
                    job.entry,
                    self.store,
                    accept_licence=job.accept_licence,
                    allow_torchscript=job.allow_torchscript,
                    state=job.state,
                )
        except CancelledError:
            self.cancelled.emit(job.id)
        except GptStudioError as exc:
            self.failed.emit(job.id, exc)
        except MemoryError:
            self.failed.emit(job.id, ModelJobFailed("There is not enough memory to read this model."))
        except Exception as exc:  # a bug must reach the user as a dialog, never kill the thread
            self.failed.emit(
                job.id, ModelJobFailed(f"{type(exc).__name__}: {exc}", details=traceback.format_exc())
            )
        else:
            self.finished.emit(job.id, model)


class ModelDownloads(QObject):
    """The GUI thread's handle: queue, cancel and follow downloads and imports.

    Every signal arrives in the GUI thread. ``models_changed`` fires after an install, an import
    or a removal, once the registry has been re-read, so the task panel can refresh its lists.
    """

    #: Each carries the :class:`ModelJob`; ``finished`` also the installed ``StoredModel`` and
    #: ``failed`` the :class:`GptStudioError` to show.
    queued = Signal(object)
    started = Signal(object)
    progress = Signal(object)
    finished = Signal(object, object)
    failed = Signal(object, object)
    cancelled = Signal(object)
    models_changed = Signal()
    _submit = Signal(object)

    def __init__(self, store: Store | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else Store()
        self._ids = itertools.count(1)
        self._jobs: dict[int, ModelJob] = {}
        self.thread = QThread()
        self.thread.setObjectName("gptstudio-downloads")
        self._worker = _Worker(self.store)
        self._worker.moveToThread(self.thread)
        self._submit.connect(self._worker.run)
        self._worker.started.connect(self._on_started)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self.thread.start()

    # --- queueing ---------------------------------------------------------------------------

    def download(self, entry: Any, *, accept_licence: bool = False, allow_torchscript: bool = False) -> int:
        """Queue a catalog entry; the user has seen the licence and confirmed what needed a yes."""
        existing = self.job_for(entry.id)
        if existing is not None:
            return existing.id
        job = ModelJob(
            next(self._ids),
            entry.id,
            entry.name,
            entry=entry,
            accept_licence=accept_licence,
            allow_torchscript=allow_torchscript,
        )
        return self._queue(job)

    def import_file(self, path: str | Path) -> int:
        job = ModelJob(next(self._ids), "", Path(path).name, path=Path(path))
        job.message = f"Waiting to import {job.label}…"
        return self._queue(job)

    def _queue(self, job: ModelJob) -> int:
        self._jobs[job.id] = job
        self.queued.emit(job)
        self._submit.emit(job)
        return job.id

    # --- what is going on -------------------------------------------------------------------

    def jobs(self) -> list[ModelJob]:
        return [self._jobs[i] for i in sorted(self._jobs)]

    def job(self, job_id: int) -> ModelJob | None:
        return self._jobs.get(job_id)

    def job_for(self, model_id: str) -> ModelJob | None:
        """The queued or running download of ``model_id``, if any."""
        return next((j for j in self._jobs.values() if j.model_id == model_id and not j.is_import), None)

    def busy(self) -> bool:
        return bool(self._jobs)

    # --- cancelling and stopping ------------------------------------------------------------

    def cancel(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.state.cancel()
            job.message = "Cancelling…"

    def cancel_all(self) -> None:
        for job_id in list(self._jobs):
            self.cancel(job_id)

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Cancel everything and stop the thread (closing the window); True when it stopped in time.

        The ``.part`` files stay on disk, so the next Download of the same model resumes.
        """
        self.cancel_all()
        if not self.thread.isRunning():
            return True
        self.thread.quit()
        return bool(self.thread.wait(timeout_ms))

    def remove(self, model_id: str) -> None:
        """Delete an installed model (or a partial download) and tell everyone who lists models."""
        self.store.remove(model_id)
        self._changed()

    # --- from the worker --------------------------------------------------------------------

    def _on_started(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.running = True
            job.message = f"Reading {job.label}…" if job.is_import else "Connecting…"
            self.started.emit(job)

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state.cancelled:
            return
        job.fraction, job.message = fraction, message or job.message
        self.progress.emit(job)

    def _on_finished(self, job_id: int, model: object) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        job.running, job.fraction = False, 1.0
        if job.is_import:
            job.model_id = str(getattr(model, "id", ""))
        self._changed()
        self.finished.emit(job, model)

    def _on_failed(self, job_id: int, error: GptStudioError) -> None:
        job = self._jobs.pop(job_id, None)
        if job is not None:
            job.running = False
            self.failed.emit(job, error)

    def _on_cancelled(self, job_id: int) -> None:
        job = self._jobs.pop(job_id, None)
        if job is not None:
            job.running = False
            self.cancelled.emit(job)

    def _changed(self) -> None:
        registry.refresh()
        self.models_changed.emit()
