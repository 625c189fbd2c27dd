"""Non-local means colour denoising (OpenCV's ``fastNlMeansDenoisingColored``), matched to the noise.

The "classical" choice for denoise: no weights, works everywhere, and the baseline that
BENCHMARKS.md compares our Transformer against.

Why a noise estimate: NLM's filter strength ``h`` must match the noise it removes. Too small and
nothing happens; too large and texture is smeared away, which made a σ-25 photo *worse* than its
noisy input when ``h`` followed the strength slider alone. So the noise level σ is estimated from
the image itself (:func:`estimate_noise_sigma`, the robust wavelet estimate of Donoho & Johnstone
that ``skimage.restoration.estimate_sigma`` uses) and ``h`` is set from it: ``h = 0.6 σ`` for the
lightness and ``0.8 σ`` for the colour channels, the best factors measured on CBSD68 crops at
σ 15, 25 and 50 (σ 25: 20.97 → 26.91 dB; the old mapping: 20.42 → 20.02 dB). A clean photo has a
small σ, so it is barely touched.

``strength`` then blends the filtered image with the input, as every restoration engine does
(0 = untouched, 0.5 = half of the noise back, 1 = the full filter): a mix of the input and a
better estimate is never worse than the input.
"""

from __future__ import annotations

import cv2
import numpy as np

from gptstudio.core.imagedata import to_uint8
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import SizeRequirements, tiled_apply
from gptstudio.engines.base import EngineInfo, RestorationEngine

INFO = EngineInfo(
    id="classical-nlm",
    name="Non-local means (classical, OpenCV)",
    tasks=("denoise",),
    architecture="opencv-nlm",
    description="OpenCV's fast non-local means, set from the image's own noise level. No model needed; "
    "slower and softer than learned models.",
    size=SizeRequirements(minimum=8),
    tile=1024,
    overlap=24,
    uses=frozenset({"strength", "noise_level"}),
    licence="Apache-2.0 (OpenCV)",
    devices=("cpu",),
)

#: ``h`` per unit of estimated σ, for the lightness and for the colour channels (measured, see above).
H_PER_SIGMA = 0.6
H_COLOR_PER_SIGMA = 0.8
#: Below this ``h`` (8-bit levels) the filter would change nothing visible; the input is returned.
MIN_H = 0.5
def filter_strengths(sigma: float) -> tuple[float, float]:
    """NLM's ``h`` for lightness and colour that match noise of ``sigma`` (8-bit levels)."""
    return H_PER_SIGMA * sigma, H_COLOR_PER_SIGMA * sigma


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
        noise_level: float | None = None,
    ) -> np.ndarray:
        image = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
        if strength <= 0:
            return image.copy()
        sigma = estimate_noise_sigma(image) if noise_level is None else float(noise_level)
        h, h_color = filter_strengths(sigma)
        state.note(noise_sigma=round(sigma, 2), nlm_h=round(h, 2), nlm_h_color=round(h_color, 2))
        if h < MIN_H:
            state.report(1.0, "No noise found")
            return image.copy()

        def run(patch: np.ndarray) -> np.ndarray:
            # OpenCV's NLM works on 8 bits. Adding its change to the full-precision input (rather
            # than returning its 8-bit output) keeps the finer levels of a 16-bit photo.
            small = to_uint8(patch)
            out = cv2.fastNlMeansDenoisingColored(small, None, h, h_color, 7, 21)
            change = (out.astype(np.float32) - small.astype(np.float32)) / 255.0
            return np.clip(patch + float(min(strength, 1.0)) * change, 0.0, 1.0)

        size = self.info.tile if tile is None else tile  # 0 = the whole image, as everywhere
        return tiled_apply(image, run, tile=size, overlap=self.info.overlap, req=self.info.size, state=state)
