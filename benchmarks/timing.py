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


def matmul_gflops(dtype: object = None, n: int = 2048, repeats: int = 5) -> float:
    """This machine's ceiling: GFLOP/s of an ``n``³ matrix multiply in ``dtype`` (fp32 if None),
    the reference every benchmark's achieved GFLOP/s is read against."""
    import torch

    dtype = dtype or torch.float32
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)  # type: ignore[call-overload]
    a @ b
    return 2 * n**3 / best_of(lambda: a @ b, repeats) / 1e9
