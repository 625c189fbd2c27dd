"""How long the Qt event loop goes without running: the window's responsiveness, measured.

A 5 ms timer notes the time between its ticks; a late tick means the loop was busy and the
window froze for that long. ``benchmarks/bench_gui.py`` and ``bench_history.py`` report it
against the 100 ms goal; the tests do not time anything (a busy CI machine would fail them) but
prove heavy work runs off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QTimer


class StallMeter:
    """Records the gaps (ms) between ticks of a fast timer while it runs."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.gaps: list[int] = []
        self._clock = QElapsedTimer()
        self._last = 0
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._last = self._clock.elapsed()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def worst(self) -> int:
        """The longest gap seen so far (0 before the first tick)."""
        return max(self.gaps, default=0)

    def _tick(self) -> None:
        now = self._clock.elapsed()
        self.gaps.append(now - self._last)
        self._last = now
