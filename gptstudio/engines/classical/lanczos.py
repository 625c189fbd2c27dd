"""Lanczos resampling: the classical upscaler, so ``upscale`` works offline from the first start.

It is also the last step of every learned upscale: a model enlarges by its native factor (×2, ×4)
and :func:`resize` brings the result to exactly the size the user asked for.

Enlarging uses OpenCV's ``INTER_LANCZOS4`` (8×8 taps, multithreaded, float32 in and out, so 16-bit
photos keep their levels). OpenCV does not widen the kernel when shrinking, which aliases, so a
reduction (a ×4 model asked for ×3) goes through Pillow's ``LANCZOS`` filter, which does.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo, UpscaleEngine

INFO = EngineInfo(
    id="classical-lanczos",
    name="Lanczos resampling (classical)",
    tasks=("upscale",),
    architecture="lanczos",
    description=(
        "Classical Lanczos interpolation to any factor. No model needed and fast; it enlarges "
        "without inventing detail, so edges stay soft."
    ),
    # scale 1 on an upscaler means "any factor in one step" (see UpscaleEngine.upscale_to).
    scale=1,
    tile=0,
    overlap=0,
    uses=frozenset(),
    licence="Apache-2.0 (OpenCV), MIT-CMU (Pillow)",
    devices=("cpu",),
)


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` (H×W or H×W×C float32 in [0, 1]) resampled to ``height×width`` with Lanczos.

    The result is clipped to [0, 1]: Lanczos overshoots next to sharp edges.
    """
    if width < 1 or height < 1:
        raise ValueError(f"target size must be positive, got {width}×{height}")
    src = np.ascontiguousarray(image, dtype=np.float32)
    h, w = src.shape[:2]
    if (w, h) == (width, height):
        return src.copy()
    if width >= w and height >= h:
        out = cv2.resize(src, (width, height), interpolation=cv2.INTER_LANCZOS4)
        if out.ndim < src.ndim:  # OpenCV drops a single channel axis
            out = out[:, :, None]
    else:
        planes = [src] if src.ndim == 2 else [src[:, :, c] for c in range(src.shape[2])]
        lanczos = Image.Resampling.LANCZOS
        resized = [
            np.asarray(Image.fromarray(np.ascontiguousarray(p)).resize((width, height), lanczos))
            for p in planes
        ]
        out = resized[0] if src.ndim == 2 else np.stack(resized, axis=2)
    return np.clip(out, 0.0, 1.0, out=np.ascontiguousarray(out, dtype=np.float32))


class LanczosUpscale(UpscaleEngine):
    """The classical upscaler: any factor in one resampling step."""

    info = INFO

    def upscale(self, rgb: np.ndarray, *, state: TaskState, tile: int | None = None) -> np.ndarray:
        """By the native factor, which for an any-factor engine is 1: a copy."""
        h, w = rgb.shape[:2]
        return self.upscale_to(rgb, w * self.info.scale, h * self.info.scale, state=state, tile=tile)

    def upscale_to(
        self, rgb: np.ndarray, width: int, height: int, *, state: TaskState, tile: int | None = None
    ) -> np.ndarray:
        state.report(0.0, "Resampling (Lanczos)")
        out = resize(rgb, width, height)
        state.report(1.0, "Done")
        return out
