"""The restore task: JPEG artefacts, blur, noise, or all at once (``mode``)."""

from __future__ import annotations

from gptstudio.core.progress import TaskState
from gptstudio.tasks.requests import RestoreRequest, TaskResult
from gptstudio.tasks.restoration import run_restoration


def restore(request: RestoreRequest, state: TaskState) -> TaskResult:
    return run_restoration(request, request.mode, state)
