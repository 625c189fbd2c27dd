"""The command line's progress bar: percent, elapsed time, time left, and what the task is doing.

Why not tqdm's own ``{remaining}``: a task reports fractions, not item counts, from several
stages (loading a model at 0 %, tiles, a resize), and restarts at 0 % when it retries with smaller
tiles after running out of memory. tqdm's estimate counts from the bar's creation and shows a
jumpy guess from the first update ("00:00<00:02" for a job that takes a minute). Here
:class:`gptstudio.core.progress.TimeLeft` measures the rate from when the progress started moving
(and again after a restart), and the time left is shown only once a job has run for a few
seconds, as "about 1:20 left".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

from gptstudio.core.progress import TaskState, TimeLeft


def clock_text(seconds: float) -> str:
    """'0:07', '12:45' or '1:02:03'."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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
        self._start = clock()
        self._time_left = TimeLeft(self._start)
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
        parts = [clock_text(now - self._start)]
        left = self._time_left.update(fraction, now)
        if left is not None:
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
