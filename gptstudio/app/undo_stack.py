"""The window's undo stack: a QUndoStack that can do one step's heavy work off the GUI thread.

Undoing or redoing a whole-image result on a 24-MP photo rebuilds a 288 MB float image and a
96 MB display image: a quarter of a second of numpy and Qt work that froze the window when it
ran on the GUI thread. :meth:`UndoStack.run_off_thread` runs such work on a thread while the event
loop keeps painting. User input waits until the step is done (excluded from the inner loop), so
nobody can undo twice at once; anything that pushes a command meanwhile (a region tool's answer)
is held back and pushed right after, in order, so the stack never changes under a running step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QEventLoop, QObject, QTimer
from PySide6.QtGui import QUndoCommand, QUndoStack

T = TypeVar("T")

#: Work that ends within this many seconds never starts an inner event loop.
QUICK = 0.02


class UndoStack(QUndoStack):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._held: list[QUndoCommand] = []
        #: Called as a step starts its work off the GUI thread (the autosave pauses for it).
        self.on_busy: Callable[[], None] = lambda: None

    def busy(self) -> bool:
        """True while an undo or redo step runs its work off the GUI thread."""
        return self._busy

    def push(self, command: QUndoCommand) -> None:
        if self._busy:
            self._held.append(command)
            return
        super().push(command)

    def run_off_thread(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a thread, the event loop running (without user input) until it returns."""
        if self._busy:
            return fn()
        outcome: list[tuple[bool, object]] = []
        finished = threading.Event()

        def work() -> None:
            try:
                outcome.append((True, fn()))
            except BaseException as exc:  # handed back to the GUI thread, raised there
                outcome.append((False, exc))
            finally:
                finished.set()

        self._busy = True
        self.on_busy()
        try:
            thread = threading.Thread(target=work, name="gptstudio-undo", daemon=True)
            thread.start()
            if not finished.wait(QUICK):
                loop = QEventLoop()
                timer = QTimer()
                timer.setInterval(5)
                timer.timeout.connect(lambda: loop.quit() if finished.is_set() else None)
                timer.start()
                if not finished.is_set():
                    loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
                timer.stop()
            thread.join()
        finally:
            self._busy = False
            if self._held:
                QTimer.singleShot(0, self._push_held)
        ok, value = outcome[0]
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def _push_held(self) -> None:
        held, self._held = self._held, []
        for command in held:
            self.push(command)
