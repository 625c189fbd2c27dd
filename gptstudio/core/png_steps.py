"""PNG encoding in short steps a background writer can pause between (the .ora layers).

Why not Pillow or OpenCV here: both encode a whole image in one call (Pillow keeps going until its
output buffer fills, which on a smooth 24-MP photo is the whole image: half a second), and no
library lets the caller stop between parts of one PNG. The autosave must stop as soon as the
window starts landing a result or undoing a step: a writer that keeps both cores and the GIL busy
then made those steps stall 100-300 ms on a 2-core machine. So this module does what a PNG is,
band by band: convert a band of rows from float to the image's bit depth (numpy, in place),
apply the "Up" filter (one numpy subtraction), deflate it (zlib, which lets go of the GIL), then
call ``checkpoint``. Each step is a quarter of a megabyte of pixels, a few milliseconds of work. No whole
uint8 copy of the image is ever made, so an autosave of a 24-MP photo costs megabytes, not the
hundreds a one-call encoder needs.

The output is a plain PNG (colour types 0, 2, 4, 6; 8 or 16 bits; iCCP and eXIf when the image has
them) that any reader opens.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import numpy as np

from gptstudio.core.imagedata import ImageData

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Bytes of pixels per step (before filtering): small enough that a step is a few milliseconds.
STEP_BYTES = 1 << 18
#: PNG filter type 2 ("Up"): each byte minus the byte above it. One numpy call per band, and
#: within a few percent of Pillow's adaptive filtering on photos.
FILTER_UP = 2


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


#: Called between steps; the autosave waits in it while the window is busy.
Checkpoint = Callable[[], None] | None
#: Fills rows ``y0`` to ``y0 + len(out)`` of the file's samples into ``out`` (rows × width × channels).
BandFiller = Callable[[int, np.ndarray], None]


def encode_png(
    image: ImageData,
    *,
    level: int = 6,
    checkpoint: Checkpoint = None,
    keep_gray: bool = True,
) -> bytes:
    """``image`` as PNG bytes in its own bit depth, grey kept grey, alpha kept; ``checkpoint()`` is
    called between steps (the autosave waits there while the window is busy)."""
    sixteen = image.bit_depth == 16
    gray = keep_gray and image.gray
    channels = (1 if gray else 3) + int(image.alpha is not None)
    top = np.float32(65535.0 if sixteen else 255.0)
    floats = np.empty((max(1, STEP_BYTES // (image.width * channels)), image.width), np.float32)

    def fill(y0: int, out: np.ndarray) -> None:
        n = out.shape[0]
        band = slice(y0, y0 + n)
        if gray:
            np.mean(image.rgb[band], axis=2, dtype=np.float32, out=floats[:n])
            _quantize_into(floats[:n], top, out[:, :, 0], floats)
        else:
            for k in range(3):
                _quantize_into(image.rgb[band, :, k], top, out[:, :, k], floats)
        if image.alpha is not None:
            _quantize_into(image.alpha[band], top, out[:, :, channels - 1], floats)

    head = []
    if image.icc_profile and not gray:
        head.append(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(image.icc_profile)))
    if image.exif:
        exif = image.exif[6:] if image.exif.startswith(b"Exif\x00\x00") else image.exif
        head.append(_chunk(b"eXIf", exif))
    return encode_bands(
        image.width, image.height, channels, sixteen, fill, level=level, checkpoint=checkpoint, chunks=head
    )


def encode_tinted_alpha(
    alpha: np.ndarray, rgb: tuple[int, int, int], *, level: int = 1, checkpoint: Checkpoint = None
) -> bytes:
    """An 8-bit RGBA PNG of one colour whose alpha is ``alpha`` (uint8 H×W): the .ora mask layer."""
    h, w = alpha.shape

    def fill(y0: int, out: np.ndarray) -> None:
        out[:, :, :3] = rgb
        out[:, :, 3] = alpha[y0 : y0 + out.shape[0]]

    return encode_bands(w, h, 4, False, fill, level=level, checkpoint=checkpoint)


def encode_bands(
    width: int,
    height: int,
    channels: int,
    sixteen: bool,
    fill: BandFiller,
    *,
    level: int = 6,
    checkpoint: Checkpoint = None,
    chunks: list[bytes] | None = None,
) -> bytes:
    """A PNG of ``channels`` (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) 8- or 16-bit samples that
    ``fill`` writes band by band; ``chunks`` (already framed) go before the pixels."""
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    dtype = np.dtype(">u2") if sixteen else np.dtype(np.uint8)
    row_bytes = width * channels * dtype.itemsize
    rows = max(1, STEP_BYTES // row_bytes)
    ihdr = struct.pack(">IIBBBBB", width, height, 16 if sixteen else 8, colour_type, 0, 0, 0)
    parts = [SIGNATURE, _chunk(b"IHDR", ihdr), *(chunks or [])]
    deflate = zlib.compressobj(level)
    previous = np.zeros(row_bytes, np.uint8)  # the row above the first one is zeros (PNG spec)
    samples = np.empty((rows, width, channels), dtype)
    raw = np.empty((rows, 1 + row_bytes), np.uint8)
    raw[:, 0] = FILTER_UP
    for y0 in range(0, height, rows):
        n = min(rows, height - y0)
        fill(y0, samples[:n])
        data = samples[:n].reshape(n, row_bytes // dtype.itemsize).view(np.uint8).reshape(n, row_bytes)
        out = raw[:n, 1:]
        np.subtract(data[1:], data[:-1], out=out[1:])  # uint8 arithmetic wraps, as the filter wants
        np.subtract(data[0], previous, out=out[0])
        previous = data[-1].copy()
        compressed = deflate.compress(raw[:n])
        if compressed:  # one IDAT per step: readers join them, and nothing big is copied
            parts.append(_chunk(b"IDAT", compressed))
        if checkpoint is not None:
            checkpoint()
    parts += [_chunk(b"IDAT", deflate.flush()), _chunk(b"IEND", b"")]
    return b"".join(parts)


def _quantize_into(values: np.ndarray, top: np.float32, out: np.ndarray, scratch: np.ndarray) -> None:
    """Float [0, 1] to integers with rounding, as ``to_uint8``/``to_uint16`` do, into ``out``."""
    n = values.shape[0]
    tmp = scratch[:n]
    np.clip(values, 0.0, 1.0, out=tmp)
    tmp *= top
    tmp += np.float32(0.5)
    np.copyto(out, tmp, casting="unsafe")  # the cast truncates, as astype does
