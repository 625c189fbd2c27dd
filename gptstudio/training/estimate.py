"""Before a fine-tune starts: time and memory measured with a few real steps, and whether it fits.

Why measure rather than compute: the step time depends on the CPU's threads and bf16 units, the
GPU, the crop and batch, and on the memory of activations that no parameter count predicts. So a
few steps of the real run are taken (the first one is a warm-up and not timed) and then undone
exactly: the trainable weights, buffers, optimiser state, EMA, step counter and both random
generators are put back, so the run that follows is the one that would have run without them.

Memory is the process's peak: on a GPU ``torch.cuda.max_memory_allocated``; on the CPU the peak
resident size (``getrusage``), which includes the decoded photos, the weights, the optimiser state
and the activations of a step. "Fits" compares it with what the device has (free RAM plus what the
process already holds; the GPU's total memory). Running out of GPU memory during the trial steps is
itself the answer: it does not fit.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from gptstudio.training.loop import Loop

#: Headroom: a run that needs more than this share of the memory is reported as not fitting.
HEADROOM = 0.9


@dataclass
class Estimate:
    #: None when no trial step finished (out of memory).
    seconds_per_step: float | None
    total_seconds: float | None
    memory_bytes: int
    available_bytes: int
    device: str
    fits: bool
    warning: str | None

    def to_event(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        gb = 1e9
        speed = (
            f"{self.seconds_per_step:.2f} s per step, about {_duration(self.total_seconds)} in all"
            if self.seconds_per_step is not None and self.total_seconds is not None
            else "no step finished"
        )
        text = (
            f"estimate on {self.device}: {speed}; memory {self.memory_bytes / gb:.2f} GB of "
            f"{self.available_bytes / gb:.1f} GB available"
        )
        return text + (f"\nWARNING: {self.warning}" if self.warning else "")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


def _available_cpu() -> int:
    import psutil

    return int(psutil.virtual_memory().available + psutil.Process().memory_info().rss)


@contextlib.contextmanager
def _undone(loop: Loop) -> Any:
    """Put everything a trial step changes back afterwards (see the module docstring)."""
    tensors = [
        t
        for m in loop.recipe.modules.values()
        for t in [*(p for p in m.parameters() if p.requires_grad), *m.buffers()]
    ]
    if loop.ema is not loop.recipe.modules[loop.config.ema_module]:
        tensors += [*loop.ema.parameters(), *loop.ema.buffers()]
    saved = [(t, t.detach().clone()) for t in tensors]
    rng, torch_rng = loop.rng.bit_generator.state, torch.get_rng_state()
    step = loop.step
    try:
        yield
    finally:
        with torch.no_grad():
            for t, copy_ in saved:
                t.copy_(copy_)
                t.grad = None
        for opt in loop.optims.values():
            opt.state.clear()
            opt.zero_grad(set_to_none=True)
        loop.rng.bit_generator.state = rng
        torch.set_rng_state(torch_rng)
        loop.step = step


def estimate(loop: Loop, steps: int, trials: int = 3) -> Estimate:
    """Time ``trials`` real steps (after one warm-up) of ``loop`` for a run of ``steps`` steps."""
    device = loop.config.device
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times: list[float] = []
    oom: str | None = None
    with _undone(loop):
        try:
            for i in range(trials + 1):
                start = time.perf_counter()
                loop.train_step(0.0)
                if cuda:
                    torch.cuda.synchronize()
                if i:
                    times.append(time.perf_counter() - start)
        except torch.OutOfMemoryError as exc:
            oom = ". ".join(str(exc).splitlines()[0].split(". ")[:2])  # what was asked, not the tips
    if cuda:
        memory = int(torch.cuda.max_memory_allocated())
        available = int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
        torch.cuda.empty_cache()
    else:
        memory, available = _peak_rss(), _available_cpu()
    per_step = sorted(times)[len(times) // 2] if times else None
    fits = oom is None and memory <= HEADROOM * available
    warning = None
    if oom is not None:
        warning = (
            f"It does not fit: the {device} ran out of memory during the trial steps ({oom}). "
            "Choose the quick preset, a smaller batch or crop, or the CPU."
        )
    elif not fits:
        warning = (
            f"It will probably not fit: a step needs about {memory / 1e9:.1f} GB and {device} has "
            f"{available / 1e9:.1f} GB available. Choose the quick preset or a smaller batch or crop."
        )
    total = per_step * steps if per_step is not None else None
    return Estimate(per_step, total, memory, available, "cuda" if cuda else "cpu", fits, warning)
