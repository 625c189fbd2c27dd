"""One object that is both the progress sink and the cancel token (after Orange3's ``TaskState``).

Engines and tasks receive a :class:`TaskState` and call :meth:`TaskState.check` between tiles and
steps; the GUI worker or the CLI progress bar subscribe through the callback. Nothing here knows
about Qt, so the same task code runs in the worker thread, the CLI and the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gptstudio.core.errors import CancelledError

#: ``callback(fraction, message)``: fraction in [0, 1].
ProgressCallback = Callable[[float, str], None]
#: ``preview(rgb_float_array)``: an intermediate result the GUI may show.
PreviewCallback = Callable[[object], None]


class CancelToken:
    """A thread-safe flag: set from the GUI thread, checked from the worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError()


@dataclass
class TaskState:
    """Progress reporting plus cancellation for one job.

    ``sub(start, end)`` gives a child state that maps its own 0..1 onto ``start..end`` of this
    one, so a task can hand a tiler or a sampling loop its own slice of the progress bar.

    ``notes`` collects what an engine chose by itself from the image (an estimated noise level
    and the filter strength set from it): the task copies them into the result's parameters, so
    a result says how it was made without the engine interface growing a return value.
    """

    callback: ProgressCallback | None = None
    preview: PreviewCallback | None = None
    token: CancelToken = field(default_factory=CancelToken)
    notes: dict[str, Any] = field(default_factory=dict)
    _start: float = 0.0
    _end: float = 1.0

    def report(self, fraction: float, message: str = "") -> None:
        """Report progress within this state's slice; also a cancellation point."""
        self.token.raise_if_cancelled()
        if self.callback is not None:
            f = min(max(fraction, 0.0), 1.0)
            self.callback(self._start + (self._end - self._start) * f, message)

    def check(self) -> None:
        """Raise :class:`CancelledError` if the user asked to stop."""
        self.token.raise_if_cancelled()

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def note(self, **values: Any) -> None:
        """Record values an engine chose (shared with every sub-state of this job)."""
        self.notes.update(values)

    def show_preview(self, image: object) -> None:
        if self.preview is not None:
            self.preview(image)

    def sub(self, start: float, end: float) -> TaskState:
        span = self._end - self._start
        return TaskState(
            callback=self.callback,
            preview=self.preview,
            token=self.token,
            notes=self.notes,
            _start=self._start + span * start,
            _end=self._start + span * end,
        )


class TimeLeft:
    """How long a job still needs, from the rate since its progress started moving.

    Why not ``elapsed × (1 − f) / f`` from the start: a job spends its first seconds loading a model
    at 0 %, and starts again at 0 % when it retries with smaller tiles after running out of GPU
    memory; counting those seconds promises too much or too little. The rate is measured from the
    last report before the progress moved (and again after a restart), and no guess is given
    before the job has run ``show_after`` seconds. Qt-free, so the editor and the CLI share it.
    """

    def __init__(self, start: float, *, show_after: float = 3.0, min_progress: float = 0.02) -> None:
        self.start = start
        self.show_after = show_after
        self.min_progress = min_progress
        self._from: tuple[float, float] | None = None  # (time, fraction) the rate is measured from
        self._last = 0.0

    def update(self, fraction: float, now: float) -> float | None:
        """Record a report; return the seconds left, or None while unknown or too early to say."""
        if self._from is None or fraction < self._last or fraction <= self._from[1]:
            self._from = (now, fraction)  # first report, a restart, or still where it started
        self._last = fraction
        since, done = now - self._from[0], fraction - self._from[1]
        if now - self.start < self.show_after or done < self.min_progress or since <= 0 or fraction >= 1:
            return None
        return (1.0 - fraction) * since / done
