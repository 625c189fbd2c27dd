"""What every task does the same way: validate, choose model and device, time, record params."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gptstudio.core.device import check_device_name, choose_device
from gptstudio.core.errors import InvalidRequestError, ModelError, OutOfMemoryError
from gptstudio.engines.base import Engine, EngineInfo
from gptstudio.models import registry


def check_range(name: str, value: float, low: float, high: float) -> None:
    if not (low <= value <= high):
        raise InvalidRequestError(f"{name} must be between {low:g} and {high:g}, not {value:g}.")


def check_tile(tile: int | None) -> None:
    """None (the model's choice) or a size in pixels, where 0 means the whole image."""
    if tile is not None and tile < 0:
        raise InvalidRequestError(f"The tile size cannot be negative (got {tile}); 0 = whole image.")


def resolve_engine(task: str, model: str | None, device: str | None) -> tuple[Engine, EngineInfo, str]:
    """Pick the model for ``task`` (default if None), check it can do the task, load it."""
    model_id = model or registry.default_model(task)
    info = registry.info(model_id)
    if task not in info.tasks:
        raise ModelError(f"The model '{model_id}' cannot {task}; it does: {', '.join(info.tasks)}.")
    if info.devices != ("cpu",):
        dev = choose_device(device)
    else:
        # Classical engines run on the CPU whatever is asked, but a misspelt device is still
        # the user's mistake to hear about.
        check_device_name(device)
        dev = "cpu"
    return registry.load(model_id, dev), info, dev


def base_params(task: str, info: EngineInfo, device: str, **extra: Any) -> dict[str, Any]:
    from gptstudio import __version__

    return {"task": task, "model": info.id, "device": device, "program": f"gptstudio {__version__}", **extra}


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    out = [0.0]
    start = time.perf_counter()
    try:
        yield out
    finally:
        out[0] = time.perf_counter() - start


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors (without importing torch if it is not loaded)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def with_oom_fallback(run: Any, tile: int | None, engine_tile: int, used: list[int] | None = None) -> Any:
    """Call ``run(tile)``; on GPU out-of-memory retry with halved tiles down to 128 px.

    ``tile`` None means the engine's hint; 0 (asked for, or the hint of a model that should see
    the whole image) is tried whole first, then 512-px tiles. The caller moves to the CPU if even
    128 px fails; the user is told through the error message. Each tile tried is appended to
    ``used``, so the last one is what the result's parameters record.
    """
    current = engine_tile if tile is None else tile
    while True:
        if used is not None:
            used.append(current)
        try:
            return run(current)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            import sys

            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
            if current <= 0:
                current = 512
                continue
            if current <= 128:
                raise OutOfMemoryError(
                    "The GPU ran out of memory even with small tiles. Close other programs, or run "
                    "on the CPU (--device cpu, or GPTSTUDIO_DEVICE=cpu); the editor does this by itself."
                ) from exc
            current //= 2
