"""Image reading and writing through Pillow, into one working representation.

Every image is turned into float32 RGB in [0, 1] (``H×W×3``) with alpha kept aside, whatever
the file held (palette, LA, CMYK, 16-bit, EXIF-rotated). Tasks only ever see that, and the
writer puts alpha, bit depth, ICC profile, EXIF and our task parameters back on the way out.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageCms, ImageOps, PngImagePlugin, UnidentifiedImageError

from gptstudio import __version__
from gptstudio.core.atomic import atomic_write
from gptstudio.core.errors import ImageReadError, ImageTooLargeError, ImageWriteError

#: Default decompression-bomb limit, in megapixels (Pillow's own default is ~89).
DEFAULT_MAX_MEGAPIXELS = 200.0
#: The text chunk key under which we store task parameters in PNG files.
PARAMS_KEY = "gptstudio"

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


@dataclass(frozen=True, eq=False)
class ImageData:
    """A decoded image: float32 RGB in [0, 1] plus what must survive a round trip."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    icc_profile: bytes | None = None
    exif: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

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
        """The same image metadata around new pixels (a task result)."""
        return replace(self, rgb=np.ascontiguousarray(rgb, dtype=np.float32), **changes)


def from_array(rgb: np.ndarray, alpha: np.ndarray | None = None) -> ImageData:
    """Wrap an array (uint8, uint16 or float in [0, 1]; gray or RGB) as :class:`ImageData`."""
    arr = np.asarray(rgb)
    bit_depth = 16 if arr.dtype == np.uint16 else 8
    arr = _to_float(arr)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ImageReadError(f"Expected an H×W×3 image array, got shape {arr.shape}.")
    if arr.shape[2] == 4 and alpha is None:
        alpha = arr[:, :, 3]
    arr = arr[:, :, :3]
    if alpha is not None:
        alpha = _to_float(np.asarray(alpha)).reshape(arr.shape[:2])
    return ImageData(rgb=np.ascontiguousarray(arr), alpha=alpha, bit_depth=bit_depth)


def _to_float(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def set_max_megapixels(megapixels: float | None) -> None:
    """Set Pillow's decompression-bomb limit; ``None`` or 0 keeps our default."""
    mp = megapixels or DEFAULT_MAX_MEGAPIXELS
    Image.MAX_IMAGE_PIXELS = int(mp * 1_000_000)


set_max_megapixels(None)


def load_image(path: str | os.PathLike[str], *, max_megapixels: float | None = None) -> ImageData:
    """Read an image file into :class:`ImageData`, or raise :class:`ImageReadError` saying why."""
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p} does not exist.")
    if p.is_dir():
        raise ImageReadError(f"{p} is a folder, not an image file.")
    if p.stat().st_size == 0:
        raise ImageReadError(f"{p} is empty (0 bytes).")
    limit = int((max_megapixels or Image.MAX_IMAGE_PIXELS / 1e6) * 1_000_000)
    try:
        with Image.open(p) as im:
            w, h = im.size
            if w * h > limit:
                raise ImageTooLargeError(
                    f"{p.name} is {w}×{h} ({w * h / 1e6:.0f} megapixels), above the safety limit of "
                    f"{limit / 1e6:.0f} megapixels. If you trust this file, raise the limit with "
                    f"--max-megapixels {int(w * h / 1e6) + 1}."
                )
            if w < 2 or h < 2:
                raise ImageReadError(f"{p.name} is only {w}×{h} pixels; images must be at least 2×2.")
            icc = im.info.get("icc_profile")
            exif = im.info.get("exif")
            params = _read_params(im)
            if _is_16bit_color(im, p):
                data = _decode_16bit_color(p, im, icc)
            else:
                im.load()
                im = ImageOps.exif_transpose(im) or im
                data = _decode(im, icc)
    except (ImageTooLargeError, ImageReadError):
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"{p.name} is larger than the safety limit; raise it with --max-megapixels if you trust it."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{p.name} is not an image file Pillow can read.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageReadError(f"{p.name} is damaged or truncated and cannot be decoded ({exc}).") from exc
    if exif is not None:
        exif = _reset_orientation(exif)
    return replace(data, exif=exif, params=params, source=str(p))


def _decode(im: Image.Image, icc: bytes | None) -> ImageData:
    """Turn any Pillow mode into float RGB + optional alpha, keeping 16-bit precision."""
    mode = im.mode
    alpha: np.ndarray | None = None
    bit_depth = 8
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.uint32 if mode == "I" else None)
        arr = np.asarray(arr, dtype=np.float32)
        peak = 65535.0 if (mode != "I" or arr.max(initial=0) > 255) else 255.0
        bit_depth = 16 if peak > 255 else 8
        gray = np.clip(arr / peak, 0.0, 1.0)
        rgb = np.repeat(gray[:, :, None], 3, axis=2)
        return ImageData(rgb=np.ascontiguousarray(rgb), bit_depth=bit_depth, icc_profile=icc)
    if mode == "F":
        gray = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return ImageData(rgb=np.repeat(gray[:, :, None], 3, axis=2), icc_profile=icc)
    if mode == "CMYK":
        if icc:
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                dst = ImageCms.createProfile("sRGB")
                im = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
                icc = None  # now sRGB
            except (ImageCms.PyCMSError, OSError):
                im = im.convert("RGB")
        else:
            im = im.convert("RGB")
    elif mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    elif mode in ("1", "L"):
        im = im.convert("RGB")
    elif mode == "LA":
        im = im.convert("RGBA")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = np.asarray(im)
    if arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[:, :, 3].astype(np.float32) / 255.0
        arr = arr[:, :, :3]
    rgb = np.ascontiguousarray(arr.astype(np.float32) / 255.0)
    return ImageData(rgb=rgb, alpha=alpha, bit_depth=bit_depth, icc_profile=icc)


def _is_16bit_color(im: Image.Image, path: Path) -> bool:
    """Pillow decodes 16-bit RGB(A) PNG and TIFF to 8 bits, so we must notice them first."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        with open(path, "rb") as handle:
            header = handle.read(26)
        return len(header) >= 25 and header[24] == 16
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        return bool(bits) and max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


#: EXIF orientation value -> the numpy operations that make the pixels upright.
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 1)[::-1],
    8: lambda a: np.rot90(a, 1),
}


def _decode_16bit_color(path: Path, im: Image.Image, icc: bytes | None) -> ImageData:
    """Decode 16-bit colour with OpenCV (which keeps every bit), then apply EXIF orientation."""
    import cv2

    raw = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 3:
        raise ImageReadError(f"{path.name} is a 16-bit image that could not be decoded.")
    arr = raw[:, :, [2, 1, 0, 3][: raw.shape[2]]].astype(np.float32) / 65535.0
    orientation = im.getexif().get(0x0112, 1)
    if orientation in _ORIENT:
        arr = _ORIENT[orientation](arr)
    alpha = np.ascontiguousarray(arr[:, :, 3]) if arr.shape[2] == 4 else None
    rgb = np.ascontiguousarray(arr[:, :, :3])
    return ImageData(rgb=rgb, alpha=alpha, bit_depth=16, icc_profile=icc)


def _read_params(im: Image.Image) -> dict[str, Any]:
    raw = im.info.get(PARAMS_KEY)
    if not raw:
        return {}
    try:
        params = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return params if isinstance(params, dict) else {}


def _reset_orientation(exif: bytes) -> bytes:
    """Our pixels are already upright, so the EXIF we carry forward must say so."""
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        if parsed.get(0x0112, 1) != 1:
            parsed[0x0112] = 1
        return parsed.tobytes()
    except Exception:  # a malformed EXIF block must never stop a save
        return exif


def read_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The task parameters this program stored in an image (empty if none)."""
    try:
        with Image.open(path) as im:
            return _read_params(im)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageReadError(f"{Path(path).name} cannot be read: {exc}") from exc


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint8 with rounding (not truncation, which darkens by half a level)."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_uint16(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)


def encode_image(
    image: ImageData,
    format: str,
    *,
    params: dict[str, Any] | None = None,
    quality: int = 95,
) -> bytes:
    """Encode to bytes in ``format`` (PNG, JPEG, WEBP, TIFF, BMP) with alpha, ICC, EXIF, params."""
    fmt = format.upper()
    alpha = image.alpha
    keep_alpha = alpha is not None and fmt in {"PNG", "WEBP", "TIFF"}
    all_params = dict(params or {})
    if all_params:
        all_params.setdefault("program", f"gptstudio {__version__}")
    if image.bit_depth == 16 and fmt in SIXTEEN_BIT_FORMATS:
        return _encode_16bit(image, fmt, all_params, keep_alpha)
    arr = to_uint8(image.rgb)
    if keep_alpha:
        assert alpha is not None
        pil = Image.fromarray(np.dstack([arr, to_uint8(alpha)]), "RGBA")
    else:
        pil = Image.fromarray(arr, "RGB")
    kwargs: dict[str, Any] = {}
    if image.icc_profile:
        kwargs["icc_profile"] = image.icc_profile
    if image.exif and fmt in {"JPEG", "PNG", "WEBP", "TIFF"}:
        kwargs["exif"] = image.exif
    if fmt == "JPEG":
        kwargs.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        kwargs.update(quality=quality)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_deflate")
    elif fmt == "PNG" and all_params:
        info = PngImagePlugin.PngInfo()
        info.add_text(PARAMS_KEY, json.dumps(all_params, sort_keys=True))
        info.add_text("Software", f"gptstudio {__version__}")
        kwargs["pnginfo"] = info
    buf = io.BytesIO()
    pil.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _encode_16bit(image: ImageData, fmt: str, params: dict[str, Any], keep_alpha: bool) -> bytes:
    """Pillow cannot write 16-bit colour, so OpenCV encodes and we add PNG metadata chunks."""
    import cv2

    arr = to_uint16(image.rgb)[:, :, ::-1]
    if keep_alpha and image.alpha is not None:
        arr = np.dstack([arr, to_uint16(image.alpha)])
    ok, encoded = cv2.imencode(".png" if fmt == "PNG" else ".tiff", np.ascontiguousarray(arr))
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode a 16-bit {fmt}.")
    data = encoded.tobytes()
    if fmt != "PNG":
        return data
    chunks: list[tuple[bytes, bytes]] = []
    if image.icc_profile:
        chunks.append((b"iCCP", b"icc\x00\x00" + zlib.compress(image.icc_profile)))
    if image.exif:
        exif = image.exif[6:] if image.exif.startswith(b"Exif\x00\x00") else image.exif
        chunks.append((b"eXIf", exif))
    if params:
        chunks.append((b"tEXt", PARAMS_KEY.encode() + b"\x00" + json.dumps(params, sort_keys=True).encode()))
    return _png_insert_chunks(data, chunks)


def _png_insert_chunks(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Insert ancillary chunks right after IHDR (signature 8 bytes + IHDR chunk 25 bytes)."""
    head, tail = png[:33], png[33:]
    out = [head]
    for kind, body in chunks:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc))
    out.append(tail)
    return b"".join(out)


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
