"""Telea's fast-marching inpainting (OpenCV ``cv2.inpaint``): the classical fill for small areas.

It ignores prompts; it is the always-available inpaint engine until a generative one is installed.
"""

from __future__ import annotations

import cv2
import numpy as np

from gptstudio.core.imageio import to_uint8
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo, InpaintEngine

INFO = EngineInfo(
    id="classical-telea",
    name="Telea fast marching (classical, OpenCV)",
    tasks=("inpaint",),
    architecture="opencv-telea",
    description="Fills small holes and scratches from their surroundings. Ignores prompts.",
    tile=0,
    uses=frozenset(),
    devices=("cpu",),
    licence="Apache-2.0 (OpenCV)",
)


class TeleaInpaint(InpaintEngine):
    info = INFO

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
        state.report(0.0, "Filling the masked area")
        hole = (mask > 0.5).astype(np.uint8) * 255
        if not hole.any():
            return rgb.copy()
        radius = 5
        # cv2.inpaint works on 8-bit; the task composites the result only inside the mask, so the
        # untouched area keeps its full precision.
        out = cv2.inpaint(to_uint8(rgb), hole, radius, cv2.INPAINT_TELEA)
        state.report(1.0, "Done")
        return out.astype(np.float32) / 255.0
