"""Sizes for generative models: the working size near a model's native resolution, and the window
around a mask that a prompt-guided inpaint runs on.

Why: a diffusion or masked-token Transformer makes good pictures near the resolution it was
trained at and poor ones far from it, and its sizes must be multiples of its latent patch. A
24-MP photo cannot go through it whole, and a small mask on it should not be painted at a
thumbnail's scale. So an inpaint takes a window around the mask with context — at least the
native size where the photo allows, so the model sees the surroundings at 1:1 — and scales only
a window larger than native down to about native area; a variation runs at about native area.
The result is scaled back and composited by the task through the feathered mask.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from gptstudio.tasks.masked import Box, context_box

#: Pixels of surroundings always added around the masked area.
CONTEXT = 32


def round_to(value: float, multiple: int) -> int:
    """The nearest multiple of ``multiple`` (at least one multiple)."""
    m = max(int(multiple), 1)
    return max(m, round(value / m) * m)


def working_size(width: int, height: int, native: int, multiple: int) -> tuple[int, int]:
    """``width×height`` scaled down (never up) to about ``native²`` pixels, in multiples."""
    scale = 1.0
    if native > 0 and width * height > native * native:
        scale = native / math.sqrt(width * height)
    return round_to(width * scale, multiple), round_to(height * scale, multiple)


def reduced_hole(hole: np.ndarray, width: int, height: int) -> np.ndarray:
    """``hole`` (H×W, 1 = fill) at ``width×height`` for a picture resampled with Lanczos
    (:func:`gptstudio.engines.classical.lanczos.resize`): every pixel whose resampling drew on a
    hole pixel is a hole too (float 0/1).

    Why: Lanczos reaches 3 pixels of its output scale (more where it enlarges), so thresholding a
    resampled mask at one half would hand the model a rim of pixels still tinted by the object the
    user wants gone, and the fill would continue it inward — a ghost of the object at the seam.
    """
    h, w = hole.shape
    touched = cv2.resize((hole > 0.5).astype(np.float32), (width, height), interpolation=cv2.INTER_AREA) > 0
    reach = math.ceil(3 * max(1.0, width / w, height / h)) + 1
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return cv2.dilate(touched.astype(np.uint8), kernel).astype(np.float32)


def _grow(lo: int, hi: int, want: int, limit: int) -> tuple[int, int]:
    """Widen ``lo:hi`` around its centre to ``want`` pixels, shifted to stay inside ``0:limit``."""
    if hi - lo >= want:
        return lo, hi
    want = min(want, limit)
    lo = max(0, (lo + hi) // 2 - want // 2)
    hi = lo + want
    if hi > limit:
        lo, hi = limit - want, limit
    return lo, hi


def mask_window(mask: np.ndarray, native: int, context: int = CONTEXT) -> Box:
    """The box a prompt-guided inpaint runs on: the masked pixels plus ``context``, widened to at
    least ``native`` along each edge where the image allows."""
    h, w = mask.shape
    box = context_box(mask, context)
    y0, y1 = _grow(box.y0, box.y1, native, h)
    x0, x1 = _grow(box.x0, box.x1, native, w)
    return Box(y0, y1, x0, x1)
