"""Writing :class:`ImageData` back to a file: format, bit depth, grey, alpha, ICC, EXIF, parameters.

Why more than ``Image.save``: a user's 16-bit scan must stay 16-bit, a grey one grey, the camera's
EXIF and colour profile must travel to the result, our parameters must be readable again, and a
crash or a full disk must never leave half a file. Pillow writes what it can; OpenCV writes
16-bit colour PNG (with our chunks added), and TIFF is laid out here (see :func:`_encode_tiff`).
Every file is written through :func:`gptstudio.core.atomic.atomic_write`.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, TiffImagePlugin, TiffTags

from gptstudio.core.atomic import atomic_write
from gptstudio.core.errors import ImageWriteError
from gptstudio.core.imagedata import ImageData, to_uint8, to_uint16
from gptstudio.core.metadata import (
    EXIF_SUB_IFDS,
    INTEROP_IFD,
    JPEG_EXIF_LIMIT,
    PARAMS_KEY,
    SOFTWARE,
    TIFF_DESCRIPTIVE_TAGS,
    exif_with_params,
    params_json,
    png_text,
    reset_orientation,
)

SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
#: Formats whose parameters go into the EXIF UserComment (PNG has its text chunk; BMP has nothing).
EXIF_PARAMS_FORMATS = {"JPEG", "WEBP", "TIFF"}


def encode_image(
    image: ImageData,
    format: str,
    *,
    params: dict[str, Any] | None = None,
    quality: int = 95,
) -> bytes:
    """Encode to bytes in ``format`` (PNG, JPEG, WEBP, TIFF, BMP) with alpha, ICC, EXIF, params.

    16-bit images stay 16-bit in PNG and TIFF; grey images stay grey (except in WebP, which has no
    grey, and 16-bit grey with alpha, which no encoder here writes and which becomes RGBA). Alpha
    is kept where the format can hold it (PNG, WebP, TIFF). Parameters go into a PNG text chunk,
    or the EXIF UserComment of JPEG, WebP and TIFF, beside the camera's EXIF.
    """
    fmt = format.upper().lstrip(".")
    fmt = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt, fmt)
    if fmt not in set(SAVE_FORMATS.values()):
        raise ImageWriteError(f"Cannot write the format '{format}'. Use PNG, JPEG, WEBP, TIFF or BMP.")
    keep_alpha = image.alpha is not None and fmt in ALPHA_FORMATS
    sixteen = image.bit_depth == 16 and fmt in SIXTEEN_BIT_FORMATS
    gray = image.gray and fmt != "WEBP" and not (sixteen and keep_alpha)
    all_params = dict(params or {})
    if all_params:
        all_params.setdefault("program", SOFTWARE)
    exif = reset_orientation(image.exif) if image.exif else None
    if all_params and fmt in EXIF_PARAMS_FORMATS:
        exif = exif_with_params(exif, all_params, limit=JPEG_EXIF_LIMIT if fmt == "JPEG" else None)
    # A grey file cannot carry an RGB profile; the reader already turned grey profiles into sRGB.
    icc = None if gray else image.icc_profile
    arr = _pixels(image, gray=gray, alpha=keep_alpha, sixteen=sixteen)
    if fmt == "TIFF":
        return _encode_tiff(arr, icc, exif)
    if sixteen and not gray:
        return _encode_png16(arr, icc, exif, all_params)
    pil = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    kwargs: dict[str, Any] = {}
    if icc and fmt != "BMP":
        kwargs["icc_profile"] = icc
    if exif and fmt in {"JPEG", "PNG", "WEBP"}:
        kwargs["exif"] = exif
    if fmt == "JPEG":
        kwargs.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        kwargs.update(quality=quality)
    elif fmt == "PNG" and all_params:
        kwargs["pnginfo"] = png_text(all_params)
    buf = io.BytesIO()
    pil.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _pixels(image: ImageData, *, gray: bool, alpha: bool, sixteen: bool) -> np.ndarray:
    """The planes to store, ``H×W×C`` uint8 or uint16: grey or RGB, then alpha if kept."""
    convert = to_uint16 if sixteen else to_uint8
    colour = image.rgb.mean(axis=2, dtype=np.float32)[:, :, None] if gray else image.rgb
    planes = [convert(colour)]
    if alpha and image.alpha is not None:
        planes.append(convert(image.alpha)[:, :, None])
    return planes[0] if len(planes) == 1 else np.concatenate(planes, axis=2)


def _encode_png16(arr: np.ndarray, icc: bytes | None, exif: bytes | None, params: dict[str, Any]) -> bytes:
    """Pillow cannot write 16-bit colour PNG, so OpenCV encodes and we add the metadata chunks."""
    import cv2

    bgr = arr[:, :, [2, 1, 0, 3][: arr.shape[2]]]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr))
    if not ok:
        raise ImageWriteError("A 16-bit PNG could not be encoded.")
    chunks: list[tuple[bytes, bytes]] = []
    if icc:
        # iCCP: profile name, NUL, compression method 0 (zlib), compressed profile.
        chunks.append((b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if exif:
        # eXIf holds the TIFF structure without JPEG's "Exif\0\0" marker.
        chunks.append((b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    if params:
        text = params_json(params).encode("latin-1")
        chunks.append((b"tEXt", PARAMS_KEY.encode() + b"\x00" + text))
        chunks.append((b"tEXt", b"Software\x00" + SOFTWARE.encode("latin-1")))
    return _png_insert_chunks(encoded.tobytes(), chunks)


def _png_insert_chunks(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Insert ancillary chunks right after IHDR (signature 8 bytes + IHDR chunk 25 bytes).

    The PNG specification wants iCCP and eXIf before the image data, which this satisfies.
    """
    if png[12:16] != b"IHDR":
        raise ImageWriteError("The PNG encoder produced an unexpected file layout.")
    head, tail = png[:33], png[33:]
    out = [head]
    for kind, body in chunks:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc))
    out.append(tail)
    return b"".join(out)


def _encode_tiff(arr: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    """Write a Deflate-compressed grey or RGB TIFF (± alpha), 8 or 16 bits, with ICC and EXIF.

    Laid out here because no library at hand writes all of it: Pillow writes 8 bits only (and its
    libtiff path fails on EXIF sub-directories), OpenCV writes no ICC or EXIF, and tifffile refuses
    the Exif and GPS directory tags (34665, 34853), so a camera's exposure data and our parameters
    in UserComment would be lost. Header, one directory serialised by Pillow, then the strips.
    """
    h, w, channels = arr.shape
    bits = arr.dtype.itemsize * 8
    little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    row_bytes = w * channels * arr.dtype.itemsize
    rows_per_strip = max(1, (256 * 1024) // max(row_bytes, 1))
    strips = [zlib.compress(little[y : y + rows_per_strip].tobytes(), 6) for y in range(0, h, rows_per_strip)]
    offsets, pos = [], 0
    for strip in strips:
        offsets.append(pos)  # relative: Pillow adds where the strips start (after the directory)
        pos += len(strip)
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")

    def put(tag: int, value: Any, kind: int) -> None:
        ifd[tag] = value
        ifd.tagtype[tag] = kind

    if exif:
        try:
            parsed = Image.Exif()
            parsed.load(exif)
            for tag, value in parsed.items():
                if tag in EXIF_SUB_IFDS:
                    sub = {k: v for k, v in parsed.get_ifd(tag).items() if k != INTEROP_IFD}
                    if sub:
                        put(tag, sub, TiffTags.LONG)
                elif tag in TIFF_DESCRIPTIVE_TAGS:
                    ifd[tag] = value
        except Exception:  # malformed EXIF: write the picture without it rather than fail
            pass
    short, long_ = TiffTags.SHORT, TiffTags.LONG
    put(256, w, long_)
    put(257, h, long_)
    put(258, (bits,) * channels, short)
    put(259, 8, short)  # Adobe Deflate
    put(262, 1 if channels <= 2 else 2, short)  # BlackIsZero grey, or RGB
    put(273, tuple(offsets), long_)
    put(274, 1, short)  # pixels are upright
    put(277, channels, short)
    put(278, rows_per_strip, long_)
    put(279, tuple(len(s) for s in strips), long_)
    put(284, 1, short)  # interleaved
    put(305, SOFTWARE, TiffTags.ASCII)
    if channels in (2, 4):
        put(338, (2,), short)  # unassociated alpha
    if icc:
        put(34675, icc, TiffTags.UNDEFINED)
    directory = ifd.tobytes(8)
    return b"II*\x00" + struct.pack("<I", 8) + directory + b"".join(strips)


def save_image(
    image: ImageData,
    path: str | os.PathLike[str],
    *,
    params: dict[str, Any] | None = None,
    quality: int = 95,
    overwrite: bool = False,
) -> Path:
    """Write ``image`` atomically; refuse to replace an existing file unless ``overwrite``."""
    target = Path(path)
    fmt = SAVE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SAVE_FORMATS))
        raise ImageWriteError(f"Unknown output format '{target.suffix}'. Use one of: {known}.")
    if target.exists() and not overwrite:
        raise ImageWriteError(f"{target} already exists; choose another name or pass --overwrite.")
    data = encode_image(image, fmt, params=params, quality=quality)
    atomic_write(target, lambda handle: handle.write(data))
    return target
