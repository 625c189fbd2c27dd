"""Denoise and restore share one path: engine.restore over tiles, alpha put back, params recorded.

The parameters record every field that changes the result — model, strength, mode (restore), the
tile actually used (after any out-of-memory retry) — plus what the engine chose from the image
itself (for example non-local means' noise estimate), so a result can be repeated and explained.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.progress import TaskState
from gptstudio.core.vocabulary import RESTORE_MODES
from gptstudio.engines.base import RestorationEngine
from gptstudio.tasks.common import (
    base_params,
    check_range,
    check_tile,
    resolve_engine,
    timed,
    with_oom_fallback,
)
from gptstudio.tasks.masked import blend_mask, mask_params, through_mask, work_box
from gptstudio.tasks.requests import DenoiseRequest, RestoreRequest, TaskResult

#: The highest noise level a user may ask for (σ in 8-bit levels): far beyond any photo.
MAX_NOISE_LEVEL = 100.0


def _noise_option(level: float | None, uses: frozenset[str], name: str) -> dict[str, float | None]:
    """The ``noise_level`` keyword for engines with the control; a clear error for the others."""
    if "noise_level" not in uses:
        if level is not None:
            raise InvalidRequestError(
                f"{name} has no noise-level control; leave the noise level on automatic for it."
            )
        return {}
    if level is not None:
        check_range("Noise level", level, 0.0, MAX_NOISE_LEVEL)
    return {"noise_level": level}


def run_restoration(request: DenoiseRequest | RestoreRequest, mode: str, state: TaskState) -> TaskResult:
    check_range("Strength", request.strength, 0.0, 1.0)
    check_tile(request.tile)
    if mode not in RESTORE_MODES:
        raise InvalidRequestError(f"Unknown restore mode '{mode}'. Use one of: {', '.join(RESTORE_MODES)}.")
    # a mask limits the filter (feathered); a small one runs the model on its box plus context only
    blend = None if request.mask is None else blend_mask(request.mask, request.image.size, request.feather)
    box = None if blend is None else work_box(blend)
    engine, info, device = resolve_engine(request.task, request.model, request.device)
    if not isinstance(engine, RestorationEngine):
        raise InvalidRequestError(f"The model '{info.id}' is not a restoration model.")
    state.report(0.0, f"Running {info.name}")
    job = replace(state, notes={})  # this job's engine notes only, even if the caller reuses its state
    tiles: list[int] = []
    full, strength = request.image.rgb, request.strength
    extra = _noise_option(request.noise_level, info.uses, info.name)
    rgb_in = full if box is None else np.ascontiguousarray(full[box.slices])
    with timed() as t:
        rgb = with_oom_fallback(
            lambda tile: engine.restore(rgb_in, strength=strength, mode=mode, state=job, tile=tile, **extra),
            request.tile,
            info.tile,
            tiles,
        )
        if blend is not None and box is not None:
            inside, rgb = rgb, full.copy()
            rgb[box.slices] = through_mask(full[box.slices], inside, blend[box.slices])
        elif blend is not None:
            rgb = through_mask(full, rgb, blend)
    params = base_params(request.task, info, device, strength=round(request.strength, 4), tile=tiles[-1])
    if request.task == "restore":
        params["mode"] = mode
    if request.noise_level is not None:
        params["noise_level"] = round(float(request.noise_level), 2)
    params.update(job.notes)
    if blend is not None:
        params.update(mask_params(request.feather, box))
    state.report(1.0, "Done")
    return TaskResult(image=request.image.with_rgb(rgb), params=params, seconds=t[0])
