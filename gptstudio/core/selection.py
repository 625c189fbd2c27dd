"""Masks from pixels: the magic wand, grow / shrink / feather, combining, and edge refinement.

Masks here are uint8 ``H×W`` arrays (255 = selected), the editor's own mask format, so a result
goes onto the canvas without a float copy of a 24-MP photo. A region result is a :class:`Patch`
(the box around what it selected), because objects are usually small parts of big photos and the
editor's undo keeps only that box.

The wand's tolerance, as documented to the user: a pixel is selected when **every channel** of
it differs from the clicked pixel's colour by at most ``tolerance`` levels (of 255). It is always
compared with the clicked colour, never with its neighbour, so a slow gradient does not leak
across the whole photo. *Contiguous* selects only such pixels connected to the click through
such pixels (4-connected: edge neighbours, not corners); *global* selects all of them anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.masks import nonzero_box

MODES = ("add", "subtract", "replace")
#: Rows per band in :func:`refine_upsampled`.
BAND = 1024


@dataclass(eq=False)
class Patch:
    """A mask inside the box at (x0, y0): uint8, 255 = selected."""

    x0: int
    y0: int
    alpha: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), end-exclusive."""
        h, w = self.alpha.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    @property
    def empty(self) -> bool:
        return not bool(self.alpha.any())


def trimmed(alpha: np.ndarray, x0: int = 0, y0: int = 0) -> Patch:
    """The smallest patch holding every selected pixel of ``alpha`` (an empty 0×0 patch if none)."""
    found = nonzero_box(alpha)
    if found is None:
        return Patch(x0, y0, np.zeros((0, 0), np.uint8))
    r0, r1, c0, c1 = found
    return Patch(x0 + c0, y0 + r0, np.ascontiguousarray(alpha[r0:r1, c0:c1]))


def combine(current: np.ndarray, new: np.ndarray, mode: str) -> np.ndarray:
    """The mask after adding (max), subtracting (``current`` where ``new`` is not) or replacing."""
    if mode == "add":
        return np.maximum(current, new)
    if mode == "subtract":
        return np.minimum(current, 255 - new)
    if mode == "replace":
        return new.copy()
    raise InvalidRequestError(f"Unknown selection mode '{mode}'. Use one of: {', '.join(MODES)}.")


def _check_tolerance(tolerance: float) -> None:
    if not (0 <= tolerance <= 255):
        raise InvalidRequestError(f"The wand tolerance must be between 0 and 255 levels, not {tolerance:g}.")


def magic_wand(rgb8: np.ndarray, x: int, y: int, tolerance: float, contiguous: bool = True) -> Patch:
    """Select the pixels like the one at (x, y) (see the module docstring for what "like" means).

    ``rgb8`` is the image as uint8 ``H×W×3``. Contiguous uses OpenCV's flood fill in
    fixed-range mode, which is exactly "compared with the seed colour, 4-connected".
    """
    h, w = rgb8.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        raise InvalidRequestError(f"The point ({x}, {y}) is outside the {w}×{h} image.")
    _check_tolerance(tolerance)
    t = int(tolerance)
    if contiguous:
        filled = np.zeros((h + 2, w + 2), np.uint8)
        flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
        cv2.floodFill(np.ascontiguousarray(rgb8), filled, (x, y), (0, 0, 0), (t, t, t), (t, t, t), flags)
        return trimmed(filled[1:-1, 1:-1])
    seed = rgb8[y, x].astype(np.int16)
    out = np.zeros((h, w), np.uint8)
    for top in range(0, h, 512):  # bands: a 24-MP int16 difference image would be 144 MB
        band = rgb8[top : top + 512].astype(np.int16)
        close = (np.abs(band - seed) <= t).all(axis=2)
        out[top : top + 512][close] = 255
    return trimmed(out)


def _disc(radius: int) -> np.ndarray:
    k = 2 * radius + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))


def _check_radius(name: str, pixels: float) -> None:
    if not (0 <= pixels <= 500):
        raise InvalidRequestError(f"{name} must be between 0 and 500 pixels, not {pixels:g}.")


def _morph(alpha: np.ndarray, pixels: int, op: int) -> np.ndarray:
    """Dilate or erode by a round element; large radii in steps of at most 32 px, because one
    huge elliptical kernel costs O(r²) per pixel while repeated small discs cost O(r)."""
    out = alpha
    left = pixels
    while left > 0:
        step = min(left, 32)
        out = cv2.morphologyEx(out, op, _disc(step), borderType=cv2.BORDER_CONSTANT, borderValue=0)
        left -= step
    return out if out is not alpha else alpha.copy()


def grow(alpha: np.ndarray, pixels: int) -> np.ndarray:
    """The selection grown outwards by ``pixels`` (a round brush, so corners round off)."""
    _check_radius("Grow", pixels)
    return _morph(alpha, int(pixels), cv2.MORPH_DILATE)


def shrink(alpha: np.ndarray, pixels: int) -> np.ndarray:
    """The selection shrunk by ``pixels``; the image edge does not eat into it (it is not an edge
    of the selection)."""
    _check_radius("Shrink", pixels)
    if pixels <= 0:
        return alpha.copy()
    pad = int(pixels)
    padded = cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    out = padded
    left = pad
    while left > 0:
        step = min(left, 32)
        out = cv2.erode(out, _disc(step), borderType=cv2.BORDER_REPLICATE)
        left -= step
    return np.ascontiguousarray(out[pad:-pad, pad:-pad])


def feather_alpha(alpha: np.ndarray, radius: float) -> np.ndarray:
    """The selection's edge softened by a Gaussian of ``radius`` pixels (σ = radius / 2, as the
    tasks feather their masks)."""
    _check_radius("Feather", radius)
    if radius <= 0:
        return alpha.copy()
    sigma = radius / 2.0
    return cv2.GaussianBlur(alpha, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def refine_upsampled(soft: np.ndarray, guide: np.ndarray, radius: int, eps: float = 1e-3) -> np.ndarray:
    """A mask computed at a lower resolution, enlarged to ``guide``'s size with edges that follow
    the photo: a guided filter (He, Sun and Tang, 2010) of the bilinear enlargement, steered by the
    full-resolution grey image; returned as uint8 through :func:`to_alpha`.

    Why written here: OpenCV has it only in the contrib package (``cv2.ximgproc``), which cannot be
    installed next to the plain ``opencv-python-headless`` this program depends on; it is six box
    filters. ``soft`` is float in [0, 1] at any size; ``guide`` is float grey H×W in [0, 1]. Worked
    in bands of rows (with the filter's reach as overlap), so a 24-MP object needs a few bands of
    float temporaries instead of a dozen whole-image ones.
    """
    h, w = guide.shape
    p = cv2.resize(soft.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    if radius <= 0:
        return to_alpha(p)
    k = (2 * radius + 1, 2 * radius + 1)

    def box(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(a, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)

    out = np.empty((h, w), np.uint8)
    reach = 2 * radius + 2
    for top in range(0, h, BAND):
        y0, y1 = max(0, top - reach), min(h, top + BAND + reach)
        g = guide[y0:y1].astype(np.float32, copy=False)
        pb = p[y0:y1]
        mean_g, mean_p = box(g), box(pb)
        a = (box(g * pb) - mean_g * mean_p) / (box(g * g) - mean_g * mean_g + np.float32(eps))
        b = mean_p - a * mean_g
        q = box(a) * g + box(b)
        out[top : min(top + BAND, h)] = to_alpha(q[top - y0 : top - y0 + BAND])
    return out


def to_alpha(soft: np.ndarray, sharpness: float = 4.0) -> np.ndarray:
    """A soft [0, 1] mask to uint8 with a short ramp around 0.5: a clean edge one or two pixels
    wide, antialiased like the brush, instead of a blurry halo or stair steps."""
    ramp = np.clip((soft - 0.5) * np.float32(sharpness) + 0.5, 0.0, 1.0)
    return (ramp * 255.0 + 0.5).astype(np.uint8)
