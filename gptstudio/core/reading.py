"""Reading any image file into :class:`ImageData`, or a clear error saying why not.

Why this much care: a user opens whatever their camera, scanner or another editor wrote, and
expects the same picture back. Pillow decodes most of it; on top of that this module

- keeps 16 bits (Pillow reduces 16-bit colour PNG/TIFF to 8, so OpenCV decodes those),
- rotates EXIF-oriented photos upright exactly once,
- converts grey and CMYK pixels through their own ICC profile to sRGB (an RGB file cannot carry
  a CMYK profile), and keeps an RGB profile for the writer,
- notes that a file was grey, so the writer can store grey again,
- checks the size against the pixel limit (``limits``) before any pixel memory is allocated.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from gptstudio.core.errors import ImageReadError, ImageTooLargeError
from gptstudio.core.imagedata import ImageData
from gptstudio.core.limits import check_image_size, describe_pixels, header_unchecked, resolve_limit
from gptstudio.core.metadata import exif_from_tiff, orientation, params_from_image, reset_orientation

#: Pillow modes that hold one grey channel (plus alpha for LA/La).
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def load_image(path: str | os.PathLike[str], *, max_megapixels: float | None = None) -> ImageData:
    """Read an image file into :class:`ImageData`, or raise :class:`ImageReadError` saying why.

    ``max_megapixels`` raises (or lowers) the size limit for this one file; without it the
    default of :func:`gptstudio.core.limits.set_max_megapixels` applies. A file above the limit
    raises :class:`ImageTooLargeError` before any pixel memory is allocated.
    """
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p} does not exist.")
    if p.is_dir():
        raise ImageReadError(f"{p} is a folder, not an image file.")
    if p.stat().st_size == 0:
        raise ImageReadError(f"{p} is empty (0 bytes).")
    limit_mp = resolve_limit(max_megapixels)
    try:
        with header_unchecked():  # only while the header is read: decoding needs no lock
            opened = Image.open(p)
        with opened as im:
            w, h = im.size
            check_image_size(p.name, w, h, limit_mp)
            if w < 2 or h < 2:
                raise ImageReadError(f"{p.name} is only {w}×{h} pixels; images must be at least 2×2.")
            # TIFF keeps EXIF in its own directory, readable only while the file is still open.
            tiff_exif = exif_from_tiff(im) if im.format == "TIFF" else None
            # Metadata is read after load(): PNG may store text, EXIF and ICC after the pixel data.
            im.load()
            icc = im.info.get("icc_profile") or None
            exif = tiff_exif if im.format == "TIFF" else im.info.get("exif") or None
            params = params_from_image(im)
            sixteen, grey_file = _sixteen_bit_colour(im, p)
            if sixteen:
                data = _decode_16bit_color(p, orientation(exif), icc, gray=grey_file)
            else:
                im = ImageOps.exif_transpose(im) or im
                data = _decode(im, icc)
    except (ImageTooLargeError, ImageReadError):
        raise
    except Image.DecompressionBombError as exc:  # a frame inside the file (GIF) claims a huge size
        raise ImageTooLargeError(
            f"{p.name} is larger than the safety limit of {describe_pixels(limit_mp * 1e6)}; if you "
            f"trust it, raise the limit with --max-megapixels."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{p.name} is not an image file in a format this program reads.") from exc
    except PermissionError as exc:  # not "damaged": the file is fine, the user may not read it
        raise ImageReadError(f"{p.name} cannot be opened: permission denied.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageReadError(f"{p.name} is damaged or truncated and cannot be decoded ({exc}).") from exc
    if exif is not None:
        exif = reset_orientation(exif)
    return replace(data, exif=exif, params=params, source=str(p))


def _icc_colour_space(icc: bytes | None) -> str | None:
    """The data colour space an ICC profile describes ('RGB', 'GRAY', 'CMYK' ...), from its header."""
    if not icc or len(icc) < 20:
        return None
    return icc[16:20].decode("ascii", "replace").strip()


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert through the file's own profile to sRGB; None if the profile is unusable."""
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    return out if isinstance(out, Image.Image) else None


def _decode(im: Image.Image, icc: bytes | None) -> ImageData:
    """Turn any Pillow mode into float RGB + optional alpha, keeping 16-bit precision.

    Our pixels are always RGB, so a grey or CMYK ICC profile cannot travel with them: the pixels
    are converted through that profile to sRGB where Pillow can, and the profile is dropped
    (untagged RGB is read as sRGB). Attaching a CMYK profile to RGB output makes viewers show wrong
    colours or reject the file.
    """
    mode = im.mode
    gray = mode in GRAY_MODES
    alpha: np.ndarray | None = None
    bit_depth = 8
    space = _icc_colour_space(icc)
    if icc and space != "RGB":
        converted = None
        if mode in ("CMYK", "L"):
            converted = _to_srgb(im, icc)
        elif mode == "LA":
            converted = _to_srgb(im.convert("L"), icc)
            if converted is not None:
                converted.putalpha(im.getchannel("A"))
        icc = None
        if converted is not None:
            im, mode = converted, converted.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.uint32 if mode == "I" else None)
        arr = np.asarray(arr, dtype=np.float32)
        # Mode "I" comes from 16-bit PNGs in older Pillow and from 32-bit TIFFs; only when the
        # file format cannot say, fall back on the values.
        sixteen = mode != "I" or im.format == "PNG" or arr.max(initial=0) > 255
        peak = 65535.0 if sixteen else 255.0
        bit_depth = 16 if sixteen else 8
        grey = np.clip(arr / peak, 0.0, 1.0)
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        return ImageData(rgb=np.ascontiguousarray(rgb), bit_depth=bit_depth, icc_profile=icc, gray=True)
    if mode == "F":
        grey = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return ImageData(rgb=np.repeat(grey[:, :, None], 3, axis=2), icc_profile=icc, gray=True)
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    elif mode in ("LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):  # 1, L, CMYK without a usable profile, YCbCr, LAB, HSV, RGBX
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = np.asarray(im)
    if arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[:, :, 3].astype(np.float32) / 255.0
        arr = arr[:, :, :3]
    rgb = np.ascontiguousarray(arr.astype(np.float32) / 255.0)
    return ImageData(rgb=rgb, alpha=alpha, bit_depth=bit_depth, icc_profile=icc, gray=gray)


def _sixteen_bit_colour(im: Image.Image, path: Path) -> tuple[bool, bool]:
    """(16 bits that Pillow would reduce to 8, the file is grey) for PNG and TIFF.

    Pillow decodes 16-bit RGB(A) PNG and TIFF, and 16-bit grey+alpha PNG (which it calls RGBA),
    to 8 bits per channel, so we must notice them first, and read whether they are grey from the
    file itself.
    """
    if im.mode not in ("RGB", "RGBA", "LA"):
        return False, False
    if im.format == "PNG":
        with open(path, "rb") as handle:
            header = handle.read(26)
        # IHDR: bit depth at byte 24, colour type at 25 (0 grey, 4 grey + alpha).
        return len(header) >= 26 and header[24] == 16, len(header) >= 26 and header[25] in (0, 4)
    if im.format == "TIFF":
        tags = getattr(im, "tag_v2", {})
        bits = tags.get(258)
        sixteen = bool(bits) and max(bits if isinstance(bits, tuple) else (bits,)) == 16
        return sixteen, tags.get(262) in (0, 1)  # photometric: white/black is zero (grey)
    return False, False


#: EXIF orientation value -> the numpy operations that make the pixels upright (as Pillow's
#: ``ImageOps.exif_transpose``; 5 and 7 are the two diagonal mirrors).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _decode_16bit_color(path: Path, turn: int, icc: bytes | None, *, gray: bool) -> ImageData:
    """Decode 16-bit colour with OpenCV (which keeps every bit), then apply EXIF orientation.

    Pillow reduces 16-bit RGB(A) PNG/TIFF, and 16-bit grey+alpha PNG, to 8 bits per channel.
    ``IMREAD_UNCHANGED`` does not rotate, so the orientation ``turn`` is applied here exactly once.
    It turns grey+alpha into BGRA, so whether the file was grey comes from Pillow's mode.
    """
    import cv2

    raw = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        raise ImageReadError(f"{path.name} is a 16-bit image that could not be decoded.")
    if raw.ndim == 2:
        raw = raw[:, :, None]
    gray = gray or raw.shape[2] <= 2
    if raw.shape[2] == 1:
        arr = np.repeat(raw, 3, axis=2)
    elif raw.shape[2] == 2:  # grey + alpha
        arr = raw[:, :, [0, 0, 0, 1]]
    else:
        arr = raw[:, :, [2, 1, 0, 3][: raw.shape[2]]]
    arr = arr.astype(np.float32) / 65535.0
    if turn in _ORIENT:
        arr = _ORIENT[turn](arr)
    alpha = np.ascontiguousarray(arr[:, :, 3]) if arr.shape[2] == 4 else None
    rgb = np.ascontiguousarray(arr[:, :, :3])
    return ImageData(rgb=rgb, alpha=alpha, bit_depth=16, icc_profile=icc, gray=gray)
