"""Outpainting: extend the canvas on any side and let the inpainter fill the new border.

The new border starts as the nearest edge pixels stretched outwards (so a classical method and the
editor's display start from something plausible rather than black) and is the hole to fill. The
editor's Extend Canvas command and ``gptstudio outpaint`` both use :func:`extend_canvas`; the
inpaint task calls it when a request carries ``extend``, so the parameters of an outpaint repeat it.
"""

from __future__ import annotations

import numpy as np

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.imagedata import ImageData
from gptstudio.core.limits import check_image_size, get_max_megapixels

#: The largest border one call adds on a side, in pixels.
MAX_EXTEND = 8192


def check_extend(extend: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` as ints, each 0..MAX_EXTEND, or a clear error."""
    if len(extend) != 4:
        raise InvalidRequestError("Extend takes four numbers: left, top, right, bottom.")
    sides = tuple(int(v) for v in extend)
    for name, value in zip(("left", "top", "right", "bottom"), sides, strict=True):
        if not 0 <= value <= MAX_EXTEND:
            raise InvalidRequestError(
                f"The {name} border must be between 0 and {MAX_EXTEND} pixels, not {value}."
            )
    return sides  # type: ignore[return-value]


def extend_canvas(
    image: ImageData, left: int, top: int, right: int, bottom: int, mask: np.ndarray | None = None
) -> tuple[ImageData, np.ndarray]:
    """The image on a larger canvas and the hole to fill (the new border, plus ``mask`` moved
    with the picture if given); float32 H×W, 1 = fill."""
    left, top, right, bottom = check_extend((left, top, right, bottom))
    h, w = image.height, image.width
    new_w, new_h = w + left + right, h + top + bottom
    check_image_size("The extended canvas", new_w, new_h, get_max_megapixels())
    pad = ((top, bottom), (left, right))
    rgb = np.pad(image.rgb, (*pad, (0, 0)), mode="edge")
    alpha = None if image.alpha is None else np.pad(image.alpha, pad, mode="edge")
    hole = np.ones((new_h, new_w), np.float32)
    hole[top : top + h, left : left + w] = 0.0 if mask is None else np.asarray(mask, np.float32)
    return image.with_rgb(rgb, alpha=alpha), hole
