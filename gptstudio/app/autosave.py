"""Autosave every minute into the user data folder, and find what a crashed session left behind.

Each running editor owns one folder ``autosave/session-<pid>-<ms>/`` guarded by a QLockFile. A
clean exit deletes the folder; after a crash or a kill the lock is stale (its process is gone), so
the next start can tell a dead session's document from one a second live window is still editing.
Writing happens on a :class:`BackgroundRunner` thread from an immutable snapshot, so a big photo
never stalls the window.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal

from gptstudio.app.background import BackgroundRunner
from gptstudio.app.document import SNAPSHOT_FILE, Snapshot, has_snapshot, write_snapshot
from gptstudio.core.paths import autosave_dir

INTERVAL_MS = 60_000
LOCK_NAME = "lock"


class Autosaver(QObject):
    saved = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        snapshot: Callable[[], Snapshot | None],
        interval_ms: int = INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self.folder = autosave_dir() / f"session-{os.getpid()}-{int(time.time() * 1000)}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(self.folder / LOCK_NAME))
        self._lock.tryLock(0)
        self._generation = 0
        self._saved_generation = 0
        self.runner = BackgroundRunner("gptstudio-autosave", self)
        self._error: str | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    def mark_changed(self, *_: object) -> None:
        self._generation += 1

    def busy(self) -> bool:
        return self.runner.is_busy()

    def save_now(self) -> bool:
        """Start writing the current document if it changed; False when there was nothing to do."""
        if self._error is not None and not self.busy():
            error, self._error = self._error, None
            self.failed.emit(error)
        if self._generation == self._saved_generation or self.busy():
            return False
        generation = self._generation
        snap = self._snapshot()
        if snap is None:  # nothing unsaved: a crash now would lose nothing
            (self.folder / SNAPSHOT_FILE).unlink(missing_ok=True)
            self._saved_generation = generation
            return False
        self._saved_generation = generation

        def write() -> None:
            try:
                write_snapshot(self.folder, snap)
            except Exception as exc:  # a full disk must not take the editor down
                self._error = str(exc)
                self._saved_generation = -1

        return self.runner.start(write)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a write in progress; True when none is left running."""
        return self.runner.wait(timeout)

    def discard(self) -> None:
        """The document is safe (saved or deliberately dropped) and the editor is closing."""
        self.timer.stop()
        self.wait()
        self._lock.unlock()
        shutil.rmtree(self.folder, ignore_errors=True)


def orphaned_sessions(root: Path | None = None) -> list[tuple[Path, QLockFile]]:
    """Folders of sessions that died with a document in them, newest first, each now locked by us.

    Empty leftovers of dead sessions are removed on the way.
    """
    root = root or autosave_dir()
    found: list[tuple[float, Path, QLockFile]] = []
    for folder in sorted(root.glob("session-*")):
        if not folder.is_dir():
            continue
        lock = QLockFile(str(folder / LOCK_NAME))
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            continue  # a live editor owns it
        if has_snapshot(folder):
            found.append(((folder / SNAPSHOT_FILE).stat().st_mtime, folder, lock))
        else:
            lock.unlock()
            shutil.rmtree(folder, ignore_errors=True)
    found.sort(key=lambda item: -item[0])
    return [(folder, lock) for _, folder, lock in found]


def remove_session(folder: Path, lock: QLockFile) -> None:
    lock.unlock()
    shutil.rmtree(folder, ignore_errors=True)
