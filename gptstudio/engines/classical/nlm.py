"""Non-local means colour denoising (OpenCV's ``fastNlMeansDenoisingColored``).

The "classical" choice for denoise: no weights, works everywhere, and the baseline
that BENCHMARKS.md compares our Transformer against.
"""

from __future__ import annotations

import cv2
import numpy as np

from gptstudio.core.imageio import to_uint8
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import SizeRequirements, tiled_apply
from gptstudio.engines.base import EngineInfo, RestorationEngine

INFO = EngineInfo(
    id="classical-nlm",
    name="Non-local means (classical, OpenCV)",
    tasks=("denoise",),
    architecture="opencv-nlm",
    description="OpenCV's fast non-local means. No model needed; slower and softer than learned models.",
    size=SizeRequirements(minimum=8),
    tile=1024,
    overlap=24,
    uses=frozenset({"strength"}),
    licence="Apache-2.0 (OpenCV)",
    devices=("cpu",),
)


def strength_to_h(strength: float) -> float:
    """Map the 0..1 strength slider to NLM's filter strength h (about σ/1.5 works well)."""
    return 1.0 + 29.0 * float(np.clip(strength, 0.0, 1.0))


class NonLocalMeans(RestorationEngine):
    info = INFO

    def restore(
        self,
        rgb: np.ndarray,
        *,
        strength: float,
        mode: str,
        state: TaskState,
        tile: int | None = None,
    ) -> np.ndarray:
        if strength <= 0:
            return rgb.copy()
        h = strength_to_h(strength)

        def run(patch: np.ndarray) -> np.ndarray:
            # OpenCV's NLM works on 8 bits. Adding its change to the full-precision input (rather
            # than returning its 8-bit output) keeps the finer levels of a 16-bit photo.
            small = to_uint8(patch)
            out = cv2.fastNlMeansDenoisingColored(small, None, h, h, 7, 21)
            change = (out.astype(np.float32) - small.astype(np.float32)) / 255.0
            return np.clip(patch + change, 0.0, 1.0)

        return tiled_apply(
            rgb, run, tile=tile or self.info.tile, overlap=self.info.overlap, req=self.info.size, state=state
        )
