"""Autosave every minute into the user data folder, and find what a crashed session left behind.

Each running editor owns one folder ``autosave/session-<pid>-<ms>/`` guarded by a QLockFile. A
clean exit deletes the folder; after a crash or a kill the lock is stale (its process is gone), so
the next start can tell a dead session's document from one a second live window is still editing.
Writing happens on a :class:`BackgroundRunner` thread from an immutable snapshot, so a big photo
never stalls the window.

The writer also keeps out of the window's way while it is busy (``held``: a job's result pending
or landing, an undo step running): an autosave does not start then, and one already writing
waits at its next encoding step (milliseconds apart, see :mod:`gptstudio.core.png_steps`) until
the window has been quiet for :data:`SETTLE_MS`. Why: on a 2-core machine, results that landed
while a 24-MP autosave was writing stalled the window 107-302 ms, against 33-37 ms otherwise
(``benchmarks/bench_history.py``). The writer competes for both cores and for the GIL, and runs
at a lower priority: when the scheduler takes the CPU from it while it holds the GIL, the GUI
thread waits for a thread that is not running. A writer parked in ``Event.wait`` holds neither.
A write held back for :data:`MAX_HOLD_S` goes on anyway: the document it protects matters more
than a slow repaint.

A parked write whose document has changed meanwhile (a result landed) is abandoned at its
checkpoint rather than finished: it would write a state that is already stale, and it holds the
previous image (288 MB of floats on 24 MP) while it waits. The last autosave file stays as it was
(writes are atomic) and the new state is written once the window is quiet.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal

from gptstudio.app.background import BackgroundRunner
from gptstudio.app.document import SNAPSHOT_FILE, Snapshot, has_snapshot, write_snapshot
from gptstudio.core.paths import autosave_dir

INTERVAL_MS = 60_000
LOCK_NAME = "lock"
#: The window counts as busy this long after it last was (the landed result's first paint).
SETTLE_MS = 300
#: How often a waiting autosave looks again whether the window is still busy.
POLL_MS = 20
#: An autosave held back this long goes ahead even while the window is busy.
MAX_HOLD_S = 120.0


class _Abandoned(Exception):
    """Raised at a write's checkpoint when its document changed while it was parked."""


class Autosaver(QObject):
    saved = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        snapshot: Callable[[], Snapshot | None],
        interval_ms: int = INTERVAL_MS,
        parent: QObject | None = None,
        held: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self._held = held
        self._held_since: float | None = None
        self._last_busy = 0.0
        #: Open while the writer may go on; closed while the window is busy (see the module doc).
        self._go = threading.Event()
        self._go.set()
        #: Set (with ``_go``) to make a parked write give up at its checkpoint.
        self._abandon = threading.Event()
        self._writing = 0
        #: While a write is in flight (or one is waiting to start): look at the window again.
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.look_again)
        self.folder = autosave_dir() / f"session-{os.getpid()}-{int(time.time() * 1000)}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(self.folder / LOCK_NAME))
        self._lock.tryLock(0)
        self._generation = 0
        self._saved_generation = 0
        self._pending = False
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

    def paused(self) -> bool:
        """True while a write in flight waits for the window to be quiet."""
        return self.busy() and not self._go.is_set()

    def window_busy(self) -> bool:
        """Whether the window is busy or settled less than SETTLE_MS ago (never past MAX_HOLD_S)."""
        now = time.monotonic()
        if self._held():
            self._last_busy = now
            if self._held_since is None:
                self._held_since = now
        if self._held_since is None:
            return False
        if now - self._last_busy >= SETTLE_MS / 1000:
            self._held_since = None
            return False
        return now - self._held_since < MAX_HOLD_S

    def look_again(self) -> None:
        """Pause or resume a write in flight (or start a waiting one) as the window is now; the
        poll calls it, and the window calls it as it gets busy, so the writer stops at once."""
        if self.busy():
            if not self.window_busy():
                self._go.set()
            elif self._generation != self._writing and not self._abandon.is_set():
                self._abandon.set()  # stale and holding the old image: give it up, write later
                self._pending = True
                self._go.set()
            else:
                self._go.clear()
        elif self._generation != self._saved_generation and self._pending:
            self.save_now()
        else:
            self._poll.stop()

    def save_now(self) -> bool:
        """Start writing the current document if it changed; False when there was nothing to do
        now (a write is in flight, or the window is busy: then it starts once the window is quiet)."""
        if self._error is not None and not self.busy():
            error, self._error = self._error, None
            self.failed.emit(error)
        if self._generation == self._saved_generation or self.busy():
            return False
        if self.window_busy():
            self._pending = True
            self._poll.start()
            return False
        self._pending = False
        generation = self._generation
        snap = self._snapshot()
        if snap is None:  # nothing unsaved: a crash now would lose nothing
            (self.folder / SNAPSHOT_FILE).unlink(missing_ok=True)
            self._saved_generation = generation
            return False
        self._saved_generation = generation

        def checkpoint() -> None:
            self._go.wait()
            if self._abandon.is_set():
                raise _Abandoned

        def write() -> None:
            try:
                write_snapshot(self.folder, snap, checkpoint=checkpoint)
            except _Abandoned:
                self._saved_generation = -1  # written again, with the new state, once quiet
            except Exception as exc:  # a full disk must not take the editor down
                self._error = str(exc)
                self._saved_generation = -1

        self._writing = generation
        self._abandon.clear()
        self._go.set()
        started = self.runner.start(write)
        if started:
            self._poll.start()
        return started

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a write in progress (no longer held back); True when none is left running."""
        self._go.set()
        return self.runner.wait(timeout)

    def discard(self) -> None:
        """The document is safe (saved or deliberately dropped) and the editor is closing."""
        self.timer.stop()
        self._poll.stop()
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
