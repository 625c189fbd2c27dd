"""The denoise task: remove sensor and compression noise, as much as ``strength`` asks."""

from __future__ import annotations

from gptstudio.core.progress import TaskState
from gptstudio.tasks.requests import DenoiseRequest, TaskResult
from gptstudio.tasks.restoration import run_restoration


def denoise(request: DenoiseRequest, state: TaskState) -> TaskResult:
    return run_restoration(request, "denoise", state)
