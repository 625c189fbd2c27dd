"""The one in-memory image every task sees: float32 RGB in [0, 1] with alpha kept aside.

Why one representation: a file may hold palette, grey, CMYK, 16-bit or rotated pixels, and a
task should not care. Reading (``reading``) turns any file into :class:`ImageData`; writing
(``writing``) puts bit depth, grey, alpha, ICC profile, EXIF and task parameters back on the way
out. What must survive that round trip travels on the object itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gptstudio.core.errors import ImageReadError


@dataclass(frozen=True, eq=False)
class ImageData:
    """A decoded image: float32 RGB in [0, 1] plus what must survive a round trip.

    ``gray`` says the file was grey (L, LA, 16-bit grey, bilevel): the pixels are still three
    equal channels so every task works unchanged, and the writer stores one channel again, so a
    grey scan does not come back as a colour file three times the size.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    icc_profile: bytes | None = None
    exif: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    gray: bool = False

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as Pillow and Qt say it."""
        return self.width, self.height

    def with_rgb(self, rgb: np.ndarray, **changes: Any) -> ImageData:
        """The same image metadata around new pixels (a task result).

        When the new pixels have another size (an upscaler), the alpha is resized to match, so
        the result still saves with its transparency instead of failing on mismatched planes.
        """
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        alpha = changes.pop("alpha", self.alpha)
        if alpha is not None and alpha.shape[:2] != rgb.shape[:2]:
            import cv2

            size = (rgb.shape[1], rgb.shape[0])
            alpha = np.clip(cv2.resize(alpha.astype(np.float32), size, interpolation=cv2.INTER_LINEAR), 0, 1)
        return replace(self, rgb=rgb, alpha=alpha, **changes)


def from_array(rgb: np.ndarray, alpha: np.ndarray | None = None) -> ImageData:
    """Wrap an array (uint8, uint16 or float in [0, 1]; grey or RGB) as :class:`ImageData`.

    A 2-D array is grey and is saved as grey; a 16-bit array keeps 16 bits when saved.
    """
    arr = np.asarray(rgb)
    bit_depth = 16 if arr.dtype == np.uint16 else 8
    gray = arr.ndim == 2
    arr = _to_float(arr)
    if gray:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ImageReadError(f"Expected an H×W×3 image array, got shape {arr.shape}.")
    if arr.shape[2] == 4 and alpha is None:
        alpha = arr[:, :, 3]
    arr = arr[:, :, :3]
    if alpha is not None:
        alpha = _to_float(np.asarray(alpha)).reshape(arr.shape[:2])
    return ImageData(rgb=np.ascontiguousarray(arr), alpha=alpha, bit_depth=bit_depth, gray=gray)


#: Rows converted per numpy call: a 24-MP conversion then needs one band's float temporaries
#: (~20 MB) instead of two whole-image ones (2 × 288 MB), which set the editor's peak memory
#: whenever an autosave or a save ran beside a landing result.
BAND_ROWS = 256


def _bands(height: int) -> list[slice]:
    return [slice(y, min(y + BAND_ROWS, height)) for y in range(0, height, BAND_ROWS)]


def _to_float(arr: np.ndarray) -> np.ndarray:
    if arr.dtype in (np.uint8, np.uint16):
        top = np.float32(255.0 if arr.dtype == np.uint8 else 65535.0)
        out = np.empty(arr.shape, np.float32)
        for rows in _bands(arr.shape[0]):
            np.divide(arr[rows], top, out=out[rows], dtype=np.float32)
        return out
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def _quantize(rgb: np.ndarray, top: float, dtype: type) -> np.ndarray:
    """Float [0, 1] to integers with rounding, band by band (same values as one whole call)."""
    if rgb.ndim == 0:
        return np.asarray((np.clip(rgb, 0.0, 1.0) * top + 0.5).astype(dtype))
    out = np.empty(rgb.shape, dtype)
    for rows in _bands(rgb.shape[0]):
        tmp = np.clip(rgb[rows], 0.0, 1.0)
        tmp *= top
        tmp += 0.5
        out[rows] = tmp  # the cast truncates, as astype does
    return out


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint8 with rounding (not truncation, which darkens by half a level)."""
    return _quantize(np.asarray(rgb), 255.0, np.uint8)


def to_uint16(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint16 with rounding, for 16-bit outputs."""
    return _quantize(np.asarray(rgb), 65535.0, np.uint16)
