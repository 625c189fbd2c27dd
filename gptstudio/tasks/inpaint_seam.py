"""What an inpaint does to a model's fill before compositing: match the seam's colour, and give a
fill made at a reduced scale back the detail and grain of the photo around it.

Why: a diffusion model's output drifts in colour from the real pixels it was given (its VAE
round trip), and the eye sees a step at the seam even through a feathered mask. The drift is
measured on a ring of real pixels just outside the hole and its smooth (local) average is added
inside the hole. Engines that give the picture's own pixels back outside the hole (ours, the
classical ones, spandrel's masked models) show no drift there, and the step changes nothing.

A large hole is filled at about the model's working size and upsampled, which leaves it soft
next to sharp, grainy surroundings: the shipped restoration Transformer sharpens it (its deblur
mode), then grain of the surroundings' measured noise level is added, seeded, so the fill does not
read as a smooth patch.
"""

from __future__ import annotations

import cv2
import numpy as np

from gptstudio.core.errors import GptStudioError
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import RestorationEngine

#: The shipped restoration model that sharpens upsampled fills.
RESTORER = "grt-restoration"
#: A fill made at less than 1/UPSAMPLED of the photo's scale gets its detail restored.
UPSAMPLED = 1.5
#: Boxes up to this many pixels are sharpened in one pass (a few GB at most): the engine's 1,024 px
#: tiles with their 128 px overlap would run a 1,100 px box as four full tiles, 3× the work.
WHOLE_BOX = 2_000_000


def _ring(hole: np.ndarray, width: int) -> np.ndarray:
    """Known pixels within ``width`` of the hole (float 0/1)."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    grown = cv2.dilate((hole > 0.5).astype(np.uint8), k)
    return ((grown > 0) & (hole <= 0.5)).astype(np.float32)


def match_seam_colour(known: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``filled`` with the local colour offset between it and ``known`` on the seam added inside
    the hole (in place when possible); ``known``/``filled`` H×W×3 float, ``hole`` H×W (1 = fill)."""
    h, w = hole.shape
    side = min(h, w)
    ring = _ring(hole, max(3, side // 64))
    if not ring.any():
        return filled
    sigma = max(4.0, side / 8.0)
    diff = (known - filled) * ring[..., None]
    weight = cv2.GaussianBlur(ring, (0, 0), sigma) + 1e-6
    offset = cv2.GaussianBlur(diff, (0, 0), sigma) / weight[..., None]
    # Far from any seam pixel the local estimate is noise: fall back to the ring's mean offset.
    mean = diff.sum(axis=(0, 1)) / ring.sum()
    trust = np.clip(weight / (weight.max() * 0.05), 0.0, 1.0)[..., None]
    offset = trust * offset + (1.0 - trust) * mean
    out = filled + offset * (hole > 0.5)[..., None]
    return np.clip(out, 0.0, 1.0, out=out).astype(np.float32, copy=False)


def restore_detail(
    known: np.ndarray, filled: np.ndarray, hole: np.ndarray, seed: int, state: TaskState, device: str = "cpu"
) -> np.ndarray:
    """Sharpen an upsampled fill with the shipped restoration model and add the surroundings' grain.

    Only the hole's bounding box (plus a margin) goes through the restoration model. Without the
    shipped model (a broken install) the grain is still matched.
    """
    ys, xs = np.nonzero(hole > 0.5)
    if not len(ys):
        return filled
    h, w = hole.shape
    pad = 16
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + 1 + pad)
    out = filled.copy()
    from gptstudio.models import registry

    try:
        restorer = registry.load(RESTORER, device)
    except (GptStudioError, KeyError):  # a broken install: the fill stands without the sharpening
        restorer = None
    if isinstance(restorer, RestorationEngine):
        box = np.ascontiguousarray(out[y0:y1, x0:x1])
        tile = 0 if box.shape[0] * box.shape[1] <= WHOLE_BOX else None
        sharp = restorer.restore(box, strength=1.0, mode="deblur", state=state, noise_level=0.0, tile=tile)
        inside = (hole[y0:y1, x0:x1] > 0.5)[..., None]
        out[y0:y1, x0:x1] = np.where(inside, sharp, box)
    ring = _ring(hole, 12)
    if ring.any():
        ry, rx = np.nonzero(ring)
        sy0, sy1, sx0, sx1 = ry.min(), ry.max() + 1, rx.min(), rx.max() + 1
        # Measured on the ring alone: what lay under the hole must not set the fill's grain.
        sigma = estimate_noise_sigma(known[sy0:sy1, sx0:sx1], where=ring[sy0:sy1, sx0:sx1] > 0)
        if sigma > 0.5:
            grain = np.random.default_rng(seed).standard_normal(out.shape).astype(np.float32)
            out += grain * (sigma / 255.0) * (hole > 0.5)[..., None]
    return np.clip(out, 0.0, 1.0, out=out)
