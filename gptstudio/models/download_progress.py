"""What a download tells the person waiting for it: bytes, speed and time left, ten times a second.

Kept apart from the transfer itself so the GUI and the CLI can format a :class:`DownloadProgress`
without importing the HTTP machinery. Import it from :mod:`gptstudio.models.download`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gptstudio.core.progress import TaskState

#: At most this many progress reports per second (callback and TaskState).
PROGRESS_PER_SECOND = 10
#: Speed is averaged over this many recent seconds, so the ETA does not jump with every chunk.
SPEED_WINDOW = 3.0


@dataclass(frozen=True)
class DownloadProgress:
    """A snapshot for progress bars: bytes so far (resumed ones included), speed and time left."""

    file: str
    done: int
    total: int | None
    speed: float  # bytes/s over the last few seconds of this session
    eta: float | None  # seconds left

    @property
    def fraction(self) -> float | None:
        return min(self.done / self.total, 1.0) if self.total else None

    def message(self) -> str:
        """``"name: 12.3 of 64.0 MB, 5.1 MB/s, 10 s left"`` (decimal MB, as download sizes are quoted)."""
        text = f"{self.file}: {self.done / 1e6:.1f}"
        text += f" of {self.total / 1e6:.1f} MB" if self.total else " MB"
        if self.speed > 0:
            text += f", {self.speed / 1e6:.1f} MB/s"
        if self.eta is not None:
            text += f", {format_duration(self.eta)} left"
        return text


def format_duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 5 s"``, ``"12 min"``, ``"1 h 4 min"``: as precise as a person needs."""
    s = max(round(seconds), 0)
    if s < 60:
        return f"{s} s"
    if s < 600:
        return f"{s // 60} min {s % 60} s"
    if s < 3600:
        return f"{round(s / 60)} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


class ProgressMeter:
    """Turns byte counts into throttled reports with a speed averaged over a sliding window.

    Reports go to an optional callback and to an optional :class:`TaskState` (fraction plus
    :meth:`DownloadProgress.message`); ``TaskState.report`` is also where a cancel is raised.
    """

    def __init__(
        self, name: str, state: TaskState | None, callback: Callable[[DownloadProgress], None] | None
    ) -> None:
        self.name, self.state, self.callback = name, state, callback
        self.samples: deque[tuple[float, int]] = deque()
        self.last = float("-inf")

    def reset(self, done: int) -> None:
        """Start measuring speed afresh from ``done`` bytes (a new session, or a restart from 0)."""
        self.samples.clear()
        self.samples.append((time.monotonic(), done))

    def update(self, done: int, total: int | None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0 / PROGRESS_PER_SECOND:
            return
        self.last = now
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= SPEED_WINDOW:
            self.samples.popleft()
        t0, d0 = self.samples[0]
        speed = max((done - d0) / (now - t0), 0.0) if now - t0 > 1e-3 else 0.0
        if total and done >= total:
            eta: float | None = 0.0
        else:
            eta = (total - done) / speed if total and speed > 0 else None
        progress = DownloadProgress(self.name, done, total, speed, eta)
        if self.callback is not None:
            self.callback(progress)
        if self.state is not None:
            self.state.report(progress.fraction or 0.0, progress.message())
