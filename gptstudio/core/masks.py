"""Masks: float32 ``H×W`` arrays in [0, 1] where 1 (white) means "change this pixel".

Masks arrive from files of any mode and from an image's alpha (transparent = change); the editor
paints its own. Every path ends in the same representation so that the tasks composite once.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from gptstudio.core.errors import ImageReadError, MaskError
from gptstudio.core.imageio import ImageData, load_image


def _combine_alpha(luminance: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Merge a mask file's brightness and transparency into one "change here" value.

    - fully opaque (or no alpha): brightness alone, so an all-black mask changes nothing;
    - flat colour with varying alpha (strokes painted on a transparent layer): the alpha;
    - otherwise brightness where the mask is visible (transparent pixels change nothing).
    """
    if alpha is None or float(alpha.min(initial=1.0)) >= 1.0 - 1e-6:
        return luminance
    if float(luminance.max(initial=0.0) - luminance.min(initial=0.0)) < 1e-6:
        return alpha
    return luminance * alpha


def mask_from_image(image: ImageData) -> np.ndarray:
    """A mask file: white = change. Gray, colour, palette, 16-bit or painted on transparency."""
    out = _combine_alpha(image.rgb.mean(axis=2), image.alpha)
    return np.ascontiguousarray(out, dtype=np.float32)


def mask_from_alpha(image: ImageData) -> np.ndarray:
    """Transparent pixels are the ones to fill (as in erasing to transparency in other editors)."""
    if image.alpha is None:
        raise MaskError("This image has no transparency to use as a mask.")
    return np.ascontiguousarray(1.0 - image.alpha, dtype=np.float32)


def load_mask(
    path: str | os.PathLike[str],
    size: tuple[int, int] | None = None,
    *,
    max_megapixels: float | None = None,
) -> np.ndarray:
    """Read a mask file and check that it matches ``size`` = (width, height).

    ``max_megapixels`` is the same limit as for the image, so a mask for a photo the user allowed
    with ``--max-megapixels`` is allowed too.
    """
    try:
        mask = mask_from_image(load_image(path, max_megapixels=max_megapixels))
    except ImageReadError as exc:
        raise MaskError(f"The mask could not be read: {exc.message}") from exc
    if size is not None:
        check_mask_size(mask, size)
    return mask


def check_mask_size(mask: np.ndarray, size: tuple[int, int]) -> None:
    """Raise a clear :class:`MaskError` when the mask is not (width, height) = ``size``."""
    if np.ndim(mask) != 2:
        raise MaskError(f"A mask must be a 2-D array (height × width), got shape {np.shape(mask)}.")
    h, w = mask.shape[:2]
    if (w, h) != tuple(size):
        raise MaskError(
            f"The mask is {w}×{h} but the image is {size[0]}×{size[1]}; they must be the same size."
        )


def nonzero_box(values: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` (end-exclusive) around every non-zero pixel of a 2-D array, or None.

    The columns are scanned only between the first and last non-zero rows, so a small mask on a
    24-MP image costs one pass over its rows and a band's worth of columns.
    """
    rows = np.flatnonzero(values.any(axis=1))
    if rows.size == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(values[y0:y1].any(axis=0))
    return y0, y1, int(cols[0]), int(cols[-1]) + 1


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow the masked area by ``pixels`` (a round structuring element), so fills reach past edges."""
    if pixels <= 0:
        return mask.astype(np.float32, copy=True)
    k = 2 * pixels + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return cv2.dilate(mask.astype(np.float32), kernel)


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften the mask edge with a Gaussian of ``radius`` pixels, so results blend without seams."""
    if radius <= 0:
        return mask.astype(np.float32, copy=True)
    sigma = radius / 2.0
    out = cv2.GaussianBlur(mask.astype(np.float32, copy=False), (0, 0), sigmaX=sigma, sigmaY=sigma)
    return np.clip(out, 0.0, 1.0, out=out)  # in place: one 24-MP float temporary less


def invert(mask: np.ndarray) -> np.ndarray:
    """Swap what changes and what is kept ("protect this area" instead of "change this area")."""
    return (1.0 - mask).astype(np.float32)


def composite(
    original: np.ndarray, result: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Keep ``original`` where the mask is 0 and ``result`` where it is 1, blending in between.

    ``out`` (float32, the images' shape; may be ``result`` itself) receives the blend, so a caller
    that owns the result saves a whole image of memory."""
    if original.shape != result.shape or original.shape[:2] != mask.shape[:2]:
        raise MaskError(
            f"Cannot blend: image {original.shape[1]}×{original.shape[0]}, result "
            f"{result.shape[1]}×{result.shape[0]}, mask {mask.shape[1]}×{mask.shape[0]}."
        )
    m = mask[:, :, None] if mask.ndim == 2 else mask
    if out is None:
        out = np.empty(original.shape, np.float32)
    # Row bands, the same arithmetic: on a 24-MP photo the whole-image expression held four
    # 288 MB float temporaries at once (over 1 GB) besides the output.
    for y in range(0, original.shape[0], 256):
        rows = slice(y, y + 256)
        out[rows] = original[rows] * (1.0 - m[rows]) + result[rows] * m[rows]
    return out
