"""One module per user task. Each takes a frozen request, a :class:`TaskState`, returns a result.

``run(request, state)`` dispatches on the request's type, so the CLI, the batch runner and the GUI
worker all call the same entry point.
"""

from __future__ import annotations

from gptstudio.core.progress import TaskState
from gptstudio.tasks.requests import (
    DenoiseRequest,
    GenerateRequest,
    InpaintRequest,
    Request,
    RestoreRequest,
    TaskResult,
    UpscaleRequest,
)


def run(request: Request, state: TaskState | None = None) -> TaskResult:
    """Run any task request and return its result (raises GptStudioError subclasses on failure)."""
    state = state or TaskState()
    if isinstance(request, DenoiseRequest):
        from gptstudio.tasks.denoise import denoise

        return denoise(request, state)
    if isinstance(request, RestoreRequest):
        from gptstudio.tasks.restore import restore

        return restore(request, state)
    if isinstance(request, InpaintRequest):
        from gptstudio.tasks.inpaint import inpaint

        return inpaint(request, state)
    if isinstance(request, UpscaleRequest):
        from gptstudio.tasks.upscale import upscale

        return upscale(request, state)
    if isinstance(request, GenerateRequest):
        from gptstudio.tasks.generate import generate

        return generate(request, state)
    from gptstudio.tasks.adjust import AdjustRequest, adjust

    if isinstance(request, AdjustRequest):
        return adjust(request, state)
    raise TypeError(f"Unknown request type {type(request).__name__}")


__all__ = [
    "DenoiseRequest",
    "GenerateRequest",
    "InpaintRequest",
    "Request",
    "RestoreRequest",
    "TaskResult",
    "UpscaleRequest",
    "run",
]
