"""A painted mask limits a filter (denoise, restore, upscale) to part of the image, like a selection.

Why here, in the task layer: the editor and ``--mask`` on the command line must give the same
pixels. The filtered result goes through the feathered mask onto the original, so the edge blends
and pixels far from the mask are bit-for-bit the input's. When the masked area is small, the
model runs only on its bounding box plus some context (the network sees the surroundings it needs,
and a face on a 24-MP photo costs a face's time, not the photo's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gptstudio.core.errors import MaskError
from gptstudio.core.masks import check_mask_size, feather, nonzero_box
from gptstudio.tasks.common import check_range

#: Pixels of surroundings the model sees around the masked box.
CONTEXT = 32
#: Run on the box only when it is at most this fraction of the image (else the whole image).
CROP_BELOW = 0.5


@dataclass(frozen=True)
class Box:
    """Rows y0:y1 and columns x0:x1 of the image (end-exclusive)."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def blend_mask(mask: np.ndarray, size: tuple[int, int], radius: float) -> np.ndarray:
    """The checked mask, feathered: float H×W in [0, 1], how much of the filtered result to keep."""
    check_range("Feather", radius, 0.0, 256.0)
    mask = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
    check_mask_size(mask, size)
    if float(mask.max(initial=0.0)) <= 0.0:
        raise MaskError("The mask is empty: paint the area to change, or run without a mask.")
    return np.clip(feather(mask, radius), 0.0, 1.0)


def work_box(blend: np.ndarray, context: int = CONTEXT) -> Box | None:
    """The box the model needs (masked pixels plus ``context``), or None when that is most of the
    image anyway (then the whole image runs: no seams, no crop bookkeeping)."""
    h, w = blend.shape
    box = context_box(blend, context)
    if (box.y1 - box.y0) * (box.x1 - box.x0) > CROP_BELOW * h * w:
        return None
    return box


def context_box(mask: np.ndarray, context: int) -> Box:
    """The box around the masked pixels (the mask is not empty) grown by ``context``, clipped to
    the image."""
    h, w = mask.shape
    found = nonzero_box(mask)
    if found is None:
        raise MaskError("The mask is empty: paint the area to change, or run without a mask.")
    y0, y1, x0, x1 = found
    return Box(max(y0 - context, 0), min(y1 + context, h), max(x0 - context, 0), min(x1 + context, w))


def through_mask(original: np.ndarray, filtered: np.ndarray, blend: np.ndarray) -> np.ndarray:
    """``filtered`` where ``blend`` is 1, ``original`` where it is 0, mixed in between."""
    a = blend[..., None].astype(np.float32)
    return (original * (1.0 - a) + filtered * a).astype(np.float32)


def mask_params(radius: float, box: Box | None) -> dict[str, object]:
    """What the result records about the mask: that one limited it, the feather, and the box run."""
    out: dict[str, object] = {"masked": True, "feather": round(float(radius), 4)}
    if box is not None:
        out["model_box"] = [box.x0, box.y0, box.x1, box.y1]
    return out
