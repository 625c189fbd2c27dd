"""The classical fills of OpenCV's ``cv2.inpaint``: Telea's fast marching and Navier–Stokes.

They ignore prompts and fill small holes and scratches from their rim; they stay selectable as
``classical-telea`` and ``classical-ns`` beside the learned inpainters (and are the benchmark's
reference).
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


NS_INFO = EngineInfo(
    id="classical-ns",
    name="Navier–Stokes (classical, OpenCV)",
    tasks=("inpaint",),
    architecture="opencv-ns",
    description="Fills small holes by continuing the lines that reach them (fluid flow). Ignores prompts.",
    tile=0,
    uses=frozenset(),
    devices=("cpu",),
    licence="Apache-2.0 (OpenCV)",
)


#: Neighbourhood (pixels) each filled pixel is computed from, OpenCV's usual choice.
RADIUS = 5


def opencv_fill(rgb: np.ndarray, hole: np.ndarray, method: int = cv2.INPAINT_TELEA) -> np.ndarray:
    """``rgb`` (float 0..1) with the pixels where ``hole`` is true filled by ``cv2.inpaint``'s
    ``method``, as float 0..1. cv2.inpaint works on 8-bit; callers composite the result only inside
    the hole, so the untouched area keeps its full precision."""
    filled = cv2.inpaint(to_uint8(rgb), np.asarray(hole, dtype=bool).astype(np.uint8) * 255, RADIUS, method)
    return filled.astype(np.float32) / 255.0


class TeleaInpaint(InpaintEngine):
    info = INFO
    method = cv2.INPAINT_TELEA

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
        hole = mask > 0.5
        if not hole.any():
            return rgb.copy()
        out = opencv_fill(rgb, hole, self.method)
        state.report(1.0, "Done")
        return out


class NavierStokesInpaint(TeleaInpaint):
    """The same call with OpenCV's Navier–Stokes method (Bertalmio et al. 2001)."""

    info = NS_INFO
    method = cv2.INPAINT_NS
