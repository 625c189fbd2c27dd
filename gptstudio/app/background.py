"""One helper for short background jobs (open, save, export, autosave), so none of them blocks the
GUI thread and none repeats the busy/wait/hand-back code.

A :class:`BackgroundRunner` runs one function at a time on a plain (non-daemon) Python thread and
hands the outcome back through queued signals, which arrive in the thread the runner lives in (the
GUI thread): ``done(value)``, ``failed(exception)``, ``progress(fraction, message)`` and
``busy_changed(bool)`` for a status-bar indicator. :meth:`wait` joins the thread, which is what
closing the window does so a file being written is never cut off. The long-lived task worker is a
different thing (:mod:`~gptstudio.app.worker`): it keeps models loaded and queues jobs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

#: Niceness added to a background thread's (Linux schedules threads one by one), up to 19.
BACKGROUND_NICE = 10


def _lower_priority() -> None:
    """Let the GUI thread (and Qt's painting threads) have the CPU first while a file is written.

    Why: the writer releases the GIL while it encodes, yet on a 2-core machine it still took the
    cores the GUI thread needed to paint, and a repaint of the 24-MP canvas went from ~45 ms to
    over 150 ms during an autosave. A file written a little later costs nothing; a frozen window
    does. Added to the thread's own niceness, so an editor started with ``nice`` keeps its writer
    below its window too. Not available everywhere (and harmless to skip).
    """
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE))
    except (AttributeError, OSError):
        pass


class BackgroundRunner(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(float, str)
    busy_changed = Signal(bool)
    _ended = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._thread: threading.Thread | None = None
        self._outcome: tuple[bool, object] = (False, None)
        self._ended.connect(self._on_ended)

    def _on_ended(self) -> None:
        self.busy_changed.emit(False)

    def is_busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, fn: Callable[[], object]) -> bool:
        """Run ``fn()`` on a new thread; False (and nothing started) while one is still running."""
        if self.is_busy():
            return False

        def work() -> None:
            _lower_priority()
            try:
                value = fn()
            except Exception as exc:  # handed to the GUI thread, which decides what to say
                self._outcome = (False, exc)
                self.failed.emit(exc)
            else:
                self._outcome = (True, value)
                self.done.emit(value)
            finally:
                self._ended.emit()

        self._thread = threading.Thread(target=work, name=self.name, daemon=False)
        self.busy_changed.emit(True)
        self._thread.start()
        return True

    def report(self, fraction: float, message: str) -> None:
        """Called from ``fn`` (any thread): progress for the GUI."""
        self.progress.emit(float(fraction), message)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running function ends (or ``timeout`` seconds); True when none runs."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.is_busy()

    def run_and_wait(self, fn: Callable[[], object]) -> tuple[bool, object]:
        """Run ``fn`` in the background while the GUI keeps its event loop (repaints, the busy
        indicator), and return ``(ok, value or exception)`` once it ends — for callers such as
        "Save, then close" that need the outcome before going on."""
        if not self.start(fn):
            return False, RuntimeError("Another write is still in progress.")
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: None if self.is_busy() else loop.quit())
        timer.start()
        if self.is_busy():
            loop.exec()
        timer.stop()
        self.wait()
        return self._outcome
