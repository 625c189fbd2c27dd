"""Basic adjustments: white balance, levels, brightness, contrast, colour balance, saturation.

Why hand-written numpy and not a library: OpenCV and Pillow offer none of these as parameterised
operations on float images (Pillow's ``ImageEnhance`` is 8-bit only and has no levels or colour
balance; scikit-image has gamma and rescale but not the rest), and the editor needs them on float32
so that 16-bit photos stay 16-bit and every value is exact and documented. Each operation is a
few lines of arithmetic; the module's job is to fix their order and meaning once, for the editor's
panel, its live preview, ``gptstudio adjust`` and batch.

The order is fixed (the order photo editors use, so a person's expectation holds):
white balance → levels → brightness → contrast → colour balance → saturation, then clipping to
[0, 1]. Every value below is a fraction of the full range (0 = black, 1 = white), so the same
parameters mean the same thing for 8-bit and 16-bit images.

- ``wb_gains`` (r, g, b): multiply each channel; :func:`grey_point_gains` makes them from a pixel
  that should be neutral grey (its luminance is kept).
- ``black``/``white``/``gamma`` (levels): ``((v - black) / (white - black)) ** (1 / gamma)``, so
  ``black = 16/255, white = 235/255`` maps level 16 to 0 and 235 to 255; :func:`auto_levels` picks
  them from the luminance histogram.
- ``brightness``: added to every channel (0.1 = a tenth of the range brighter).
- ``contrast``: a factor around mid-grey (128/255): ``(v - grey) * contrast + grey``, so mid-grey
  stays mid-grey; 1 = unchanged, 0 = flat grey.
- ``balance``: for shadows, midtones and highlights, (red, green, blue) offsets in [-1, 1]
  (−red = cyan, −green = magenta, −blue = yellow). Each is weighted by how much the pixel's
  luminance L belongs to that range — (1 − L)², 2L(1 − L), L², which sum to 1 — and scaled by
  :data:`BALANCE_SCALE`.
- ``saturation``: a factor on the distance from the pixel's luminance (0 = grey, 1 = unchanged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gptstudio.core.errors import InvalidRequestError

#: Rec. 709 luma weights (sRGB primaries), for luminance, saturation and tonal ranges.
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
#: Mid-grey, the pivot of contrast: level 128 of 255.
MID_GREY = np.float32(128.0 / 255.0)
#: A colour-balance value of ±1 moves its channel by this fraction of the range, fully in that range.
BALANCE_SCALE = 0.25
#: Rows per numpy call: a 24-MP float image is worked on in bands of this many rows.
BAND = 256
RANGES = ("shadows", "midtones", "highlights")

_Triple = tuple[float, float, float]
_ZERO: _Triple = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Adjustments:
    """Every adjustment at once; the defaults change nothing (:attr:`is_identity`)."""

    brightness: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    black: float = 0.0
    white: float = 1.0
    gamma: float = 1.0
    wb_gains: _Triple = (1.0, 1.0, 1.0)
    shadows: _Triple = _ZERO
    midtones: _Triple = _ZERO
    highlights: _Triple = _ZERO
    #: Set when ``black``/``white`` came from :func:`auto_levels` (recorded, not re-measured).
    auto_levels: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        check_adjustments(self)

    @property
    def is_identity(self) -> bool:
        return self == Adjustments()

    def to_params(self) -> dict[str, Any]:
        """The parameters a result records: lists, not tuples, so JSON round-trips them, and
        full-precision floats, so a repeat from the stored parameters gives the same pixels."""
        out = asdict(self)
        for key in ("wb_gains", *RANGES):
            out[key] = [float(v) for v in out[key]]
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Adjustments:
        """Read what :meth:`to_params` wrote (unknown keys ignored, missing ones default)."""
        kwargs: dict[str, Any] = {}
        try:
            for key in ("brightness", "contrast", "saturation", "black", "white", "gamma"):
                if params.get(key) is not None:
                    kwargs[key] = float(params[key])
            for key in ("wb_gains", *RANGES):
                if params.get(key) is not None:
                    values = tuple(float(v) for v in params[key])
                    if len(values) != 3:
                        raise ValueError(f"{key} needs three values")
                    kwargs[key] = values
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"The stored adjustment parameters are not valid: {exc}.") from exc
        kwargs["auto_levels"] = bool(params.get("auto_levels", False))
        return cls(**kwargs)


def _check(name: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidRequestError(f"{name} must be between {low:g} and {high:g}, not {value:g}.")


def check_adjustments(a: Adjustments) -> None:
    """Raise :class:`InvalidRequestError` naming the first value out of its range."""
    _check("Brightness", a.brightness, -1.0, 1.0)
    _check("Contrast", a.contrast, 0.0, 4.0)
    _check("Saturation", a.saturation, 0.0, 4.0)
    _check("Levels black point", a.black, 0.0, 1.0)
    _check("Levels white point", a.white, 0.0, 1.0)
    if a.white - a.black < 1.0 / 255.0:
        white, black = a.white * 255, a.black * 255
        raise InvalidRequestError(
            f"The levels white point ({white:.0f}) must be above the black point ({black:.0f})."
        )
    _check("Gamma", a.gamma, 0.1, 10.0)
    for name, triple, low, high in (
        ("White balance gain", a.wb_gains, 0.1, 10.0),
        ("Shadows balance", a.shadows, -1.0, 1.0),
        ("Midtones balance", a.midtones, -1.0, 1.0),
        ("Highlights balance", a.highlights, -1.0, 1.0),
    ):
        if len(triple) != 3:
            raise InvalidRequestError(f"{name} needs three values (red, green, blue).")
        for v in triple:
            _check(name, float(v), low, high)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of float RGB (H×W×3 → H×W)."""
    return np.tensordot(rgb, LUMA, axes=([-1], [0])).astype(np.float32, copy=False)


def _apply_band(v: np.ndarray, a: Adjustments) -> np.ndarray:
    """All adjustments on one band of rows, in place in the float32 array ``v``."""
    if a.wb_gains != (1.0, 1.0, 1.0):
        v *= np.asarray(a.wb_gains, np.float32)
    if (a.black, a.white, a.gamma) != (0.0, 1.0, 1.0):
        v -= np.float32(a.black)
        v *= np.float32(1.0 / (a.white - a.black))
        if a.gamma != 1.0:
            np.clip(v, 0.0, 1.0, out=v)
            np.power(v, np.float32(1.0 / a.gamma), out=v)
    if a.brightness:
        v += np.float32(a.brightness)
    if a.contrast != 1.0:
        v -= MID_GREY
        v *= np.float32(a.contrast)
        v += MID_GREY
    if (a.shadows, a.midtones, a.highlights) != (_ZERO, _ZERO, _ZERO):
        lum = np.clip(luminance(v), 0.0, 1.0)
        weights = ((1.0 - lum) ** 2, 2.0 * lum * (1.0 - lum), lum**2)
        for w, offsets in zip(weights, (a.shadows, a.midtones, a.highlights), strict=True):
            if offsets != _ZERO:
                v += w[..., None] * (np.asarray(offsets, np.float32) * np.float32(BALANCE_SCALE))
    if a.saturation != 1.0:
        lum = luminance(v)[..., None]
        v -= lum
        v *= np.float32(a.saturation)
        v += lum
    np.clip(v, 0.0, 1.0, out=v)
    return v


def apply_adjustments(rgb: np.ndarray, a: Adjustments, out: np.ndarray | None = None) -> np.ndarray:
    """``rgb`` (float32 H×W×3 in [0, 1]) adjusted; a new array unless ``out`` is given.

    Worked in bands of rows, so a 24-MP photo needs a few megabytes of temporaries, not gigabytes.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidRequestError(f"Adjustments need an H×W×3 image, got shape {rgb.shape}.")
    if out is None:
        out = np.empty(rgb.shape, np.float32)
    for y in range(0, rgb.shape[0], BAND):
        rows = slice(y, y + BAND)
        band = out[rows]
        band[...] = rgb[rows]
        _apply_band(band, a)
    return out


def histogram(rgb: np.ndarray, bins: int = 256, max_pixels: int = 1_000_000) -> np.ndarray:
    """Counts per level for red, green, blue and luminance: a ``4 × bins`` int array.

    Taken on an evenly strided sample of at most ``max_pixels`` pixels: the shape of the
    histogram is what a person reads, and a 24-MP count costs a second for no visible difference.
    """
    h, w = rgb.shape[:2]
    step = max(1, math.ceil(math.sqrt(h * w / max_pixels)))
    sample = rgb[::step, ::step].reshape(-1, 3)
    idx = np.clip((sample * (bins - 1) + 0.5).astype(np.int32), 0, bins - 1)
    lum = np.clip((luminance(sample) * (bins - 1) + 0.5).astype(np.int32), 0, bins - 1)
    rows = [np.bincount(idx[:, c], minlength=bins) for c in range(3)] + [np.bincount(lum, minlength=bins)]
    return np.stack(rows).astype(np.int64)


def auto_levels(rgb: np.ndarray, clip: float = 0.001, max_pixels: int = 1_000_000) -> tuple[float, float]:
    """Black and white points that stretch the luminance to the full range.

    The darkest and brightest ``clip`` fraction of pixels (0.1 % each side) are let go to pure
    black and white, so one hot pixel or a black border does not stop the stretch. Luminance, not
    each channel on its own, so the colours do not shift (a per-channel stretch would also "fix"
    a sunset's warmth). Measured on an evenly strided sample of at most ``max_pixels`` pixels, as
    exact quantiles (not histogram bins), so 16-bit images get 16-bit points. A flat image (less
    than one 8-bit level between the points) is left alone: (0, 1).
    """
    h, w = rgb.shape[:2]
    step = max(1, math.ceil(math.sqrt(h * w / max_pixels)))
    lum = luminance(rgb[::step, ::step].reshape(-1, 3))
    black, white = (float(v) for v in np.quantile(lum, (clip, 1.0 - clip)))
    black, white = max(0.0, black), min(1.0, white)
    if white - black < 1.0 / 255.0:
        return 0.0, 1.0
    return black, white


def grey_point_gains(colour: np.ndarray | tuple[float, float, float]) -> _Triple:
    """Per-channel gains that turn ``colour`` (the picked pixel, float RGB) neutral grey while
    keeping its luminance; clamped to the gains :func:`check_adjustments` allows."""
    c = np.clip(np.asarray(colour, np.float64), 1e-4, 1.0)
    target = float(np.dot(c, LUMA.astype(np.float64)))
    gains = np.clip(target / c, 0.1, 10.0)
    return (float(gains[0]), float(gains[1]), float(gains[2]))


def sample_colour(rgb: np.ndarray, x: int, y: int, radius: int = 2) -> np.ndarray:
    """The mean colour of the (2·radius+1)² square around (x, y), clipped to the image: a grey
    point picked on a noisy photo should not be one noisy pixel."""
    h, w = rgb.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        raise InvalidRequestError(f"The grey point ({x}, {y}) is outside the {w}×{h} image.")
    patch = rgb[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
    return patch.reshape(-1, 3).mean(axis=0)
