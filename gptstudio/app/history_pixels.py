"""A result's undo payload: its changed box before and after, in the image's own bit depth.

Why uint8/uint16 and not float32: a 24-MP step costs 72 MB (8-bit) instead of 288 MB of floats
plus a 96 MB ARGB copy. Exactness holds because :func:`capture` (run in the worker) quantizes
every result to the document's bit depth, which is what Save writes anyway: document images are
then always ``k / 255`` (or ``k / 65535``) in float32, and :func:`dequantize` gives them back
bit for bit. The display image is rebuilt from these pixels (:func:`display_qimage`), not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtGui import QImage, QPainter

from gptstudio.app.convert import qimage_view, rgb_to_qimage
from gptstudio.app.landing import Region, changed_region
from gptstudio.core.imageio import ImageData

#: Rows per numpy call in the 24-MP conversions below: each band's float temporary stays near
#: 20 MB instead of the whole image's 288 MB, and between bands the worker lets go of the GIL, so
#: the GUI thread never waits long for it (numpy releases it inside each call, but a whole-image
#: call ends in allocation and copying that keep it for tens of milliseconds).
BAND = 256


def bands(height: int, rows: int = BAND) -> list[slice]:
    return [slice(y, min(y + rows, height)) for y in range(0, height, rows)]


def quantize(values: np.ndarray, bit_depth: int, out: np.ndarray | None = None) -> np.ndarray:
    """Float [0, 1] to uint8/uint16 with rounding, as ``to_uint8`` does, band by band."""
    top = np.float32(65535.0 if bit_depth == 16 else 255.0)
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    if out is None:
        out = np.empty(values.shape, dtype)
    for rows in bands(values.shape[0]):
        tmp = np.multiply(values[rows], top, dtype=np.float32)
        tmp += np.float32(0.5)
        np.clip(tmp, 0.0, top + np.float32(0.5), out=tmp)
        out[rows] = tmp  # the cast truncates, as astype does
    return out


def dequantize(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8/uint16 back to float32 exactly as image reading does (``k / 255`` in float32); into
    ``out`` when given (a float32 array of the same shape), band by band."""
    top = np.float32(65535 if values.dtype == np.uint16 else 255)
    if out is None:
        out = np.empty(values.shape, np.float32)
    for rows in bands(values.shape[0]):
        np.divide(values[rows], top, out=out[rows], dtype=np.float32)
    return out


def _owned(result: np.ndarray | None, *others: np.ndarray | None) -> bool:
    """Whether ``result`` may be overwritten: a writable float32 array no input shares."""
    return (
        result is not None
        and result.dtype == np.float32
        and result.flags.writeable
        and result.flags.c_contiguous
        and not any(o is not None and np.may_share_memory(result, o) for o in others)
    )


_LUT16: np.ndarray | None = None


def display_qimage(rgb: np.ndarray, alpha: np.ndarray | None) -> QImage:
    """The canvas's premultiplied ARGB image of quantized pixels, the same as from floats.

    Built band by band: the worker makes it while the GUI thread runs, and one whole-image call
    (a 24-MP lookup or format conversion) would hold the GIL for 50-100 ms and freeze the window
    as long; between bands the GUI thread gets its turn.
    """
    global _LUT16
    if rgb.dtype == np.uint16 and _LUT16 is None:
        from gptstudio.core.imageio import to_uint8

        _LUT16 = to_uint8(dequantize(np.arange(65536, dtype=np.uint16)))
    h, w = rgb.shape[:2]
    out = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    view = qimage_view(out)
    for rows in bands(h):
        part = rgb[rows] if rgb.dtype == np.uint8 else np.take(_LUT16, rgb[rows])
        a = None
        if alpha is not None:
            a = alpha[rows] if alpha.dtype == np.uint8 else np.take(_LUT16, alpha[rows])
        if a is not None:
            band = rgb_to_qimage(part, a)
        else:
            part = np.ascontiguousarray(part)
            wrapped = QImage(part.data, w, part.shape[0], w * 3, QImage.Format.Format_RGB888)
            band = wrapped.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
            del wrapped  # it borrowed ``part``'s memory
        view[rows] = qimage_view(band)  # ``band`` stays alive while its pixels are copied
        del band
    return out


@dataclass(eq=False)
class Pixels:
    """One state's pixels inside a box (x0, y0, end-exclusive x1, y1), in the image's bit depth."""

    x0: int
    y0: int
    rgb: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def box(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y0 + self.rgb.shape[0]), slice(self.x0, self.x0 + self.rgb.shape[1])

    @property
    def arrays(self) -> list[np.ndarray]:
        return [a for a in (self.rgb, self.alpha) if a is not None]

    @classmethod
    def of(cls, image: ImageData, region: Region | None) -> Pixels:
        """``image``'s pixels in ``region`` (everything when None), quantized."""
        box = (
            (slice(None), slice(None))
            if region is None
            else (slice(region.y0, region.y1), slice(region.x0, region.x1))
        )
        alpha = None if image.alpha is None else quantize(image.alpha[box], image.bit_depth)
        x0, y0 = (0, 0) if region is None else (region.x0, region.y0)
        return cls(x0, y0, quantize(image.rgb[box], image.bit_depth), alpha)


@dataclass(eq=False)
class Edit:
    """A result's change: its box before and after. ``whole`` edits replace the whole image."""

    before: Pixels
    after: Pixels
    whole: bool


@dataclass
class Landed:
    """What :func:`capture` hands to the GUI: the exact result, its edit, region and display image."""

    image: ImageData
    edit: Edit
    region: Region | None
    qimage: QImage


def capture(before: ImageData, result: ImageData, masked: bool) -> Landed:
    """Quantize ``result`` to its bit depth and record its edit of ``before``. Runs in the worker:
    on 24 MP this is a second of numpy work the GUI thread must never do.

    Memory: the exact (dequantized) values are written back into the result's own float arrays
    when nothing else shares them, so landing a 24-MP result costs its uint8 copy, not two more
    288 MB float images.
    """
    rgb = quantize(result.rgb, result.bit_depth)
    alpha = None if result.alpha is None else quantize(result.alpha, result.bit_depth)
    inputs = (before.rgb, before.alpha)
    exact_rgb = dequantize(rgb, result.rgb if _owned(result.rgb, *inputs) else None)
    exact_alpha = None
    if alpha is not None:
        exact_alpha = dequantize(alpha, result.alpha if _owned(result.alpha, *inputs) else None)
    image = replace(result, rgb=exact_rgb, alpha=exact_alpha)
    same = image.size == before.size and (image.alpha is None) == (before.alpha is None)
    region = changed_region(before, image) if masked and same else None
    if region is None:
        edit = Edit(Pixels.of(before, None), Pixels(0, 0, rgb, alpha), True)
    else:
        box = (slice(region.y0, region.y1), slice(region.x0, region.x1))
        after = Pixels(region.x0, region.y0, rgb[box].copy(), None if alpha is None else alpha[box].copy())
        edit = Edit(Pixels.of(before, region), after, False)
    return Landed(image, edit, region, display_qimage(rgb, alpha))


def rebuilt(
    current: ImageData, pixels: Pixels, template: ImageData | None, in_place: bool = False
) -> ImageData:
    """The document image with ``pixels`` put back: a new image for a whole edit (metadata from
    ``template``); for a region edit, ``current`` with the box replaced, written into its arrays
    when ``in_place`` (the caller knows nothing else holds them), else into a copy. Either way a
    new ImageData, so "is this still the image a job started from" stays an identity test."""
    if template is not None:
        alpha = None if pixels.alpha is None else dequantize(pixels.alpha)
        return replace(template, rgb=dequantize(pixels.rgb), alpha=alpha)
    rgb = current.rgb if in_place else current.rgb.copy()
    dequantize(pixels.rgb, rgb[pixels.box])
    new_alpha = current.alpha
    if pixels.alpha is not None and new_alpha is not None:
        new_alpha = new_alpha if in_place else new_alpha.copy()
        dequantize(pixels.alpha, new_alpha[pixels.box])
    return replace(current, rgb=rgb, alpha=new_alpha)


def patched(current: QImage, pixels: Pixels, in_place: bool = False) -> QImage:
    """The canvas image with only ``pixels``' box redrawn: into ``current`` itself when
    ``in_place`` (nothing else shows it), else into a copy."""
    out = current if in_place else current.copy()
    painter = QPainter(out)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    painter.drawImage(pixels.x0, pixels.y0, display_qimage(pixels.rgb, pixels.alpha))
    painter.end()
    return out
