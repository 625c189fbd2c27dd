"""Denoise and restore share one path: engine.restore over tiles, alpha put back, params recorded."""

from __future__ import annotations

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import RESTORE_MODES, RestorationEngine
from gptstudio.tasks.common import base_params, check_range, resolve_engine, timed, with_oom_fallback
from gptstudio.tasks.requests import DenoiseRequest, RestoreRequest, TaskResult


def run_restoration(request: DenoiseRequest | RestoreRequest, mode: str, state: TaskState) -> TaskResult:
    check_range("Strength", request.strength, 0.0, 1.0)
    if mode not in RESTORE_MODES:
        raise InvalidRequestError(f"Unknown restore mode '{mode}'. Use one of: {', '.join(RESTORE_MODES)}.")
    engine, info, device = resolve_engine(request.task, request.model, request.device)
    if not isinstance(engine, RestorationEngine):
        raise InvalidRequestError(f"The model '{info.id}' is not a restoration model.")
    state.report(0.0, f"Running {info.name}")
    with timed() as t:
        rgb = with_oom_fallback(
            lambda tile: engine.restore(
                request.image.rgb, strength=request.strength, mode=mode, state=state, tile=tile
            ),
            request.tile,
            info.tile,
        )
    params = base_params(request.task, info, device, strength=round(request.strength, 4))
    if request.task == "restore":
        params["mode"] = mode
    state.report(1.0, "Done")
    return TaskResult(image=request.image.with_rgb(rgb), params=params, seconds=t[0])
