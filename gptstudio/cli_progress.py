"""The command line's progress bar: percent, elapsed time, time left, and what the task is doing.

Why not tqdm's own ``{remaining}``: a task reports fractions, not item counts, from several
stages (loading a model at 0 %, tiles, a resize), and restarts at 0 % when it retries with smaller
tiles after running out of memory. tqdm's estimate counts from the bar's creation and shows a
jumpy guess from the first update ("00:00<00:02" for a job that takes a minute). Here the rate is
measured from when the progress started moving (and again after a restart), and the time left is
shown only once a job has run for a few seconds, as "about 1:20 left".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

from gptstudio.core.progress import TaskState

#: A job shorter than this never shows a time-left guess (it would only flicker).
SHOW_AFTER_SECONDS = 3.0
#: Progress (as a fraction) needed since the rate was last measured from, before guessing.
MIN_PROGRESS = 0.02


def clock_text(seconds: float) -> str:
    """'0:07', '12:45' or '1:02:03'."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_left(fraction: float, since: float, start_fraction: float) -> float | None:
    """Seconds left at the rate measured over the last ``since`` seconds, or None if unknown."""
    done = fraction - start_fraction
    if done < MIN_PROGRESS or since <= 0 or fraction >= 1.0:
        return None
    return (1.0 - fraction) * since / done


class ProgressBar:
    """A tqdm bar on stderr fed by a :class:`TaskState`; Ctrl-C cancels the job cleanly.

    ``file``, ``clock`` and ``disable`` are there for tests; on a terminal the bar shows, and it
    stays silent when stderr is piped.
    """

    def __init__(
        self,
        label: str,
        *,
        file: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        disable: bool | None = None,
    ) -> None:
        from tqdm import tqdm

        self._clock = clock
        self._label = label
        self._start = clock()
        self._rate_from: tuple[float, float] | None = None  # (time, fraction) the rate is measured from
        self._last = 0.0
        self._bar = tqdm(
            total=1000,
            desc=label,
            leave=False,
            file=file or sys.stderr,
            bar_format=self._format(""),
            disable=disable,
        )
        self.state = TaskState(callback=self._update)

    @staticmethod
    def _format(text: str) -> str:
        escaped = text.replace("{", "{{").replace("}", "}}")
        return "{desc}: {percentage:3.0f}%|{bar}| " + escaped

    def status(self, fraction: float, message: str) -> str:
        """The text after the bar: elapsed, time left (once known), the task's message."""
        now = self._clock()
        if self._rate_from is None or fraction < self._last:  # first report, or a restart (retry)
            self._rate_from = (now, fraction)
        elif fraction <= self._rate_from[1]:  # still at the start (loading): measure from later on
            self._rate_from = (now, fraction)
        self._last = fraction
        elapsed = now - self._start
        parts = [clock_text(elapsed)]
        since, start_fraction = now - self._rate_from[0], self._rate_from[1]
        left = time_left(fraction, since, start_fraction)
        if left is not None and elapsed >= SHOW_AFTER_SECONDS:
            parts.append(f"about {clock_text(left)} left")
        if message:
            parts.append(message)
        return ", ".join(parts)

    def _update(self, fraction: float, message: str) -> None:
        text = self.status(fraction, message)
        self._bar.n = int(fraction * 1000)
        self._bar.bar_format = self._format(text)
        self._bar.refresh()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
