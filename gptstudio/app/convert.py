"""numpy <-> QImage without per-pixel Python loops.

The canvas keeps images as ``Format_ARGB32_Premultiplied`` because that is the format Qt's raster
engine draws fastest; conversions happen with whole-array numpy operations so a 24-megapixel photo
converts in a fraction of a second (and in the worker thread for results).
"""

from __future__ import annotations

import sys

import numpy as np
from PySide6.QtGui import QImage

from gptstudio.core.imageio import to_uint8

_LITTLE = sys.byteorder == "little"
#: Index of each channel inside a 32-bit ARGB pixel as it lies in memory.
B, G, R, A = (0, 1, 2, 3) if _LITTLE else (3, 2, 1, 0)


def qimage_view(image: QImage) -> np.ndarray:
    """A writable ``H×W×4`` uint8 view on a 32-bit QImage's pixels (valid while the image lives)."""
    if image.depth() != 32:
        raise ValueError(f"Expected a 32-bit QImage, got depth {image.depth()}.")
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.bits(), dtype=np.uint8, count=h * bpl)
    return buf.reshape(h, bpl)[:, : w * 4].reshape(h, w, 4)


def rgb_to_qimage(rgb: np.ndarray, alpha: np.ndarray | None = None) -> QImage:
    """Float [0, 1] or uint8 ``H×W×3`` (plus optional alpha) to a premultiplied ARGB32 QImage."""
    arr = rgb if rgb.dtype == np.uint8 else to_uint8(rgb)
    h, w = arr.shape[:2]
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    view = qimage_view(image)
    if alpha is None:
        view[:, :, R] = arr[:, :, 0]
        view[:, :, G] = arr[:, :, 1]
        view[:, :, B] = arr[:, :, 2]
        view[:, :, A] = 255
    else:
        a = alpha if alpha.dtype == np.uint8 else to_uint8(alpha)
        a16 = a.astype(np.uint16)
        for channel, index in ((R, 0), (G, 1), (B, 2)):
            view[:, :, channel] = ((arr[:, :, index].astype(np.uint16) * a16 + 127) // 255).astype(np.uint8)
        view[:, :, A] = a
    return image


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A QImage (any format) to a uint8 ``H×W×3`` RGB array (a copy)."""
    rgb32 = image.convertToFormat(QImage.Format.Format_RGB32)
    view = qimage_view(rgb32)
    return np.ascontiguousarray(view[:, :, [R, G, B]])


def thumbnail(rgb: np.ndarray, longest: int = 256) -> QImage:
    """A small QImage of an array for live previews (sampled, so cheap on any size)."""
    h, w = rgb.shape[:2]
    step = max(1, int(np.ceil(max(h, w) / longest)))
    small = np.ascontiguousarray(rgb[::step, ::step, :3])
    return rgb_to_qimage(small)
