"""Mixed precision for training: bf16 autocast where the hardware has bf16 units, fp32 master weights.

Why: on a CPU with AMX/AVX512-BF16 (and on recent GPUs) the matrix multiplies and convolutions run
several times faster in bf16, while the optimiser keeps fp32 weights, so the result is the fp32
recipe's, reached sooner. CPUs without bf16 units would emulate it (slower), so they stay in fp32.
Channels-last memory is what oneDNN's bf16 convolutions want on the CPU.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import torch

from gptstudio.core.device import cpu_bf16_enabled
from gptstudio.core.errors import InvalidRequestError

PRECISIONS = ("auto", "fp32", "bf16")


def use_bf16(device: str, precision: str = "auto") -> bool:
    """Whether to train in bf16 autocast on ``device`` for the ``--precision`` option."""
    if precision not in PRECISIONS:
        raise InvalidRequestError(f"Unknown precision '{precision}'. Use one of: {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision == "bf16"
    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    return device == "cpu" and cpu_bf16_enabled()


@contextlib.contextmanager
def autocast(device: str, enabled: bool) -> Iterator[None]:
    """bf16 autocast on the device's type (``cuda`` or ``cpu``), or nothing when disabled."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    with torch.autocast(kind, dtype=torch.bfloat16, enabled=enabled):
        yield


def memory_format(device: str) -> torch.memory_format:
    """Channels-last on the CPU (oneDNN's preferred layout), the default layout elsewhere."""
    return torch.channels_last if device == "cpu" else torch.contiguous_format


def steps_per_second(step: Callable[[], None], steps: int = 8, warmup: int = 2) -> float:
    """Training steps per second of ``step`` (one full optimiser step), after ``warmup`` steps."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)
