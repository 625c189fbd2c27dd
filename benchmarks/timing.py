"""The one way the benchmarks time a call: the best of a few runs (the least disturbed by other work
on the machine), in seconds."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeats: int = 2) -> float:
    """The shortest of ``repeats`` wall-clock timings of ``fn()``."""
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
