"""Tiny real engines for the GUI tests: they run through the task API like any installed model.

``SlowInvert`` sleeps in small steps, reporting progress, showing previews and checking the cancel
token at every step, so cancellation and responsiveness can be measured. ``GreenFill`` is an
inpainting engine that uses a prompt, seed and steps, so the panel must show those controls.
"""

from __future__ import annotations

import time

import numpy as np

from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo, InpaintEngine, RestorationEngine
from gptstudio.models.registry import ModelEntry

SLOW_INFO = EngineInfo(
    id="test-slow-invert",
    name="Slow invert (test)",
    tasks=("denoise",),
    architecture="test-slow",
    description="Inverts the image slowly, step by step.",
    tile=0,
    uses=frozenset({"strength"}),
    licence="test",
)
FILL_INFO = EngineInfo(
    id="test-green-fill",
    name="Green fill (test)",
    tasks=("inpaint",),
    architecture="test-fill",
    description="Paints the masked area green.",
    tile=0,
    uses=frozenset({"prompt", "negative_prompt", "seed", "steps"}),
    licence="test",
)


class SlowInvert(RestorationEngine):
    info = SLOW_INFO
    steps = 40
    step_seconds = 0.05
    loads = 0
    steps_run = 0  # how many steps the last run got through: cancel must cut it short

    def __init__(self) -> None:
        type(self).loads += 1

    def restore(
        self, rgb: np.ndarray, *, strength: float, mode: str, state: TaskState, tile: int | None = None
    ) -> np.ndarray:
        out = rgb.copy()
        type(self).steps_run = 0
        for i in range(self.steps):
            state.report(i / self.steps, f"Step {i + 1} of {self.steps}")
            type(self).steps_run = i + 1
            time.sleep(self.step_seconds)
            rows = slice(i * rgb.shape[0] // self.steps, (i + 1) * rgb.shape[0] // self.steps)
            out[rows] = 1.0 - rgb[rows]
            state.show_preview(out)
        return out


class GreenFill(InpaintEngine):
    info = FILL_INFO

    def inpaint(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        *,
        prompt: str,
        negative_prompt: str,
        seed: int,
        steps: int,
        guidance: float,
        strength: float,
        state: TaskState,
    ) -> np.ndarray:
        for i in range(steps):
            state.report(i / steps, f"Step {i + 1}")
        out = rgb.copy()
        out[mask > 0.5] = (0.0, 1.0, 0.0)
        return out


def slow_entry() -> ModelEntry:
    return ModelEntry(SLOW_INFO, lambda device: SlowInvert(), priority=100)


def fill_entry() -> ModelEntry:
    return ModelEntry(FILL_INFO, lambda device: GreenFill(), priority=100)
