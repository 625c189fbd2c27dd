"""Image reading and writing through Pillow, into one working representation.

Every image is turned into float32 RGB in [0, 1] (``H×W×3``) with alpha kept aside, whatever
the file held (palette, LA, CMYK, 16-bit, EXIF-rotated). Tasks only ever see that, and the
writer puts alpha, bit depth, ICC profile, EXIF and our task parameters back on the way out.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageCms, ImageOps, PngImagePlugin, TiffImagePlugin, TiffTags, UnidentifiedImageError

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


_limit_lock = threading.Lock()
_max_megapixels = DEFAULT_MAX_MEGAPIXELS


def set_max_megapixels(megapixels: float | None) -> None:
    """Set the default decompression-bomb limit; ``None`` or 0 restores ours.

    Pillow's own check is kept at the same level for any other code that opens images directly.
    """
    global _max_megapixels
    with _limit_lock:  # not while a load has Pillow's check switched off (it would restore the old value)
        _max_megapixels = float(megapixels) if megapixels and megapixels > 0 else DEFAULT_MAX_MEGAPIXELS
        Image.MAX_IMAGE_PIXELS = int(_max_megapixels * 1_000_000)


def get_max_megapixels() -> float:
    """The current default limit in megapixels (what ``load_image`` uses when given none)."""
    return _max_megapixels


set_max_megapixels(None)


@contextlib.contextmanager
def _pillow_limit_disabled() -> Iterator[None]:
    """Switch Pillow's global bomb check off while we read one file's header.

    Pillow refuses anything above twice ``Image.MAX_IMAGE_PIXELS`` inside ``Image.open`` with a
    message that names no option, and that global would make ``max_megapixels`` unable to raise
    the limit. We check the size ourselves right after reading the header instead; the lock keeps
    two threads from restoring each other's value.
    """
    with _limit_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _too_large_message(name: str, w: int, h: int, limit_mp: float) -> str:
    needed = int(w * h / 1e6) + 1
    return (
        f"{name} is {w}×{h} ({w * h / 1e6:.0f} megapixels), above the safety limit of {limit_mp:g} "
        f"megapixels that protects against decompression bombs. If you trust this file, raise the "
        f"limit with --max-megapixels {needed}."
    )


def load_image(path: str | os.PathLike[str], *, max_megapixels: float | None = None) -> ImageData:
    """Read an image file into :class:`ImageData`, or raise :class:`ImageReadError` saying why.

    ``max_megapixels`` raises (or lowers) the decompression-bomb limit for this one file; without
    it the default set by :func:`set_max_megapixels` applies. A file above the limit raises
    :class:`ImageTooLargeError` before any pixel memory is allocated.
    """
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p} does not exist.")
    if p.is_dir():
        raise ImageReadError(f"{p} is a folder, not an image file.")
    if p.stat().st_size == 0:
        raise ImageReadError(f"{p} is empty (0 bytes).")
    limit_mp = float(max_megapixels) if max_megapixels and max_megapixels > 0 else _max_megapixels
    try:
        with _pillow_limit_disabled():  # only while the header is read: decoding needs no lock
            opened = Image.open(p)
        with opened as im:
            w, h = im.size
            if w * h > limit_mp * 1_000_000:
                raise ImageTooLargeError(_too_large_message(p.name, w, h, limit_mp))
            if w < 2 or h < 2:
                raise ImageReadError(f"{p.name} is only {w}×{h} pixels; images must be at least 2×2.")
            # TIFF keeps EXIF in its own directory, readable only while the file is still open.
            tiff_exif = _exif_from_tiff(im) if im.format == "TIFF" else None
            # Metadata is read after load(): PNG may store text, EXIF and ICC after the pixel data.
            im.load()
            icc = im.info.get("icc_profile") or None
            exif = tiff_exif if im.format == "TIFF" else im.info.get("exif") or None
            params = _read_params(im)
            if _is_16bit_color(im, p):
                data = _decode_16bit_color(p, _orientation(exif), icc)
            else:
                im = ImageOps.exif_transpose(im) or im
                data = _decode(im, icc)
    except (ImageTooLargeError, ImageReadError):
        raise
    except Image.DecompressionBombError as exc:  # a frame inside the file (GIF) claims a huge size
        raise ImageTooLargeError(
            f"{p.name} is larger than the safety limit of {limit_mp:g} megapixels; if you trust it, "
            f"raise the limit with --max-megapixels."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{p.name} is not an image file Pillow can read.") from exc
    except PermissionError as exc:  # not "damaged": the file is fine, the user may not read it
        raise ImageReadError(f"{p.name} cannot be opened: permission denied.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageReadError(f"{p.name} is damaged or truncated and cannot be decoded ({exc}).") from exc
    if exif is not None:
        exif = _reset_orientation(exif)
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

    Our pixels are always RGB, so a gray or CMYK ICC profile cannot travel with them: the pixels
    are converted through that profile to sRGB where Pillow can, and the profile is dropped
    (untagged RGB is read as sRGB). Attaching a CMYK profile to RGB output makes viewers show wrong
    colours or reject the file.
    """
    mode = im.mode
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
        gray = np.clip(arr / peak, 0.0, 1.0)
        rgb = np.repeat(gray[:, :, None], 3, axis=2)
        return ImageData(rgb=np.ascontiguousarray(rgb), bit_depth=bit_depth, icc_profile=icc)
    if mode == "F":
        gray = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return ImageData(rgb=np.repeat(gray[:, :, None], 3, axis=2), icc_profile=icc)
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
    return ImageData(rgb=rgb, alpha=alpha, bit_depth=bit_depth, icc_profile=icc)


def _is_16bit_color(im: Image.Image, path: Path) -> bool:
    """Pillow decodes 16-bit RGB(A) PNG and TIFF to 8 bits, so we must notice them first."""
    if im.mode not in ("RGB", "RGBA", "LA"):
        return False
    if im.format == "PNG":
        with open(path, "rb") as handle:
            header = handle.read(26)
        return len(header) >= 25 and header[24] == 16
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        return bool(bits) and max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


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

#: IFD0 tags of a TIFF that describe the photo (not the file's layout), worth carrying to the output.
_TIFF_DESCRIPTIVE_TAGS = {
    270,  # ImageDescription
    271,  # Make
    272,  # Model
    274,  # Orientation
    282,  # XResolution
    283,  # YResolution
    296,  # ResolutionUnit
    305,  # Software
    306,  # DateTime
    315,  # Artist
    33432,  # Copyright
}
_EXIF_SUB_IFDS = (0x8769, 0x8825)  # Exif, GPS


def _exif_from_tiff(im: Image.Image) -> bytes | None:
    """EXIF for a TIFF source: its descriptive IFD0 tags and Exif/GPS sub-directories.

    Pillow exposes a TIFF's whole first directory as "EXIF", strip offsets and all; copying those
    layout tags into another file would describe pixels that are not there.
    """
    try:
        src = im.getexif()
        out = Image.Exif()
        for tag, value in src.items():
            if tag in _TIFF_DESCRIPTIVE_TAGS:
                out[tag] = value
        for tag in _EXIF_SUB_IFDS:
            if tag in src:
                sub = src.get_ifd(tag)
                if sub:
                    out[tag] = dict(sub)
        return out.tobytes() if len(out) else None
    except Exception:  # unreadable metadata must never stop the picture from opening
        return None


def _orientation(exif: bytes | None) -> int:
    if not exif:
        return 1
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        value = parsed.get(0x0112, 1)
        return int(value) if isinstance(value, int) else 1
    except Exception:
        return 1


def _decode_16bit_color(path: Path, orientation: int, icc: bytes | None) -> ImageData:
    """Decode 16-bit colour with OpenCV (which keeps every bit), then apply EXIF orientation.

    Pillow reduces 16-bit RGB(A) PNG/TIFF, and 16-bit gray+alpha PNG, to 8 bits per channel.
    ``IMREAD_UNCHANGED`` does not rotate, so the orientation is applied here exactly once.
    """
    import cv2

    raw = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        raise ImageReadError(f"{path.name} is a 16-bit image that could not be decoded.")
    if raw.ndim == 2:
        raw = raw[:, :, None]
    if raw.shape[2] == 1:
        arr = np.repeat(raw, 3, axis=2)
    elif raw.shape[2] == 2:  # gray + alpha
        arr = raw[:, :, [0, 0, 0, 1]]
    else:
        arr = raw[:, :, [2, 1, 0, 3][: raw.shape[2]]]
    arr = arr.astype(np.float32) / 65535.0
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
        # Only the header and text chunks are read, so a huge picture is no danger here.
        with _pillow_limit_disabled(), Image.open(path) as im:
            return _read_params(im)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{Path(path).name} cannot be read: {exc}") from exc


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint8 with rounding (not truncation, which darkens by half a level)."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_uint16(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint16 with rounding, for 16-bit outputs."""
    return (np.clip(rgb, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)


def encode_image(
    image: ImageData,
    format: str,
    *,
    params: dict[str, Any] | None = None,
    quality: int = 95,
) -> bytes:
    """Encode to bytes in ``format`` (PNG, JPEG, WEBP, TIFF, BMP) with alpha, ICC, EXIF, params.

    16-bit images stay 16-bit in PNG and TIFF. Alpha is kept where the format can hold it (PNG,
    WebP, TIFF); JPEG and BMP get the colour only. Task parameters go into PNG text chunks.
    """
    fmt = format.upper().lstrip(".")
    fmt = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt, fmt)
    if fmt not in set(SAVE_FORMATS.values()):
        raise ImageWriteError(f"Cannot write the format '{format}'. Use PNG, JPEG, WEBP, TIFF or BMP.")
    alpha = image.alpha
    keep_alpha = alpha is not None and fmt in {"PNG", "WEBP", "TIFF"}
    all_params = dict(params or {})
    if all_params:
        all_params.setdefault("program", f"gptstudio {__version__}")
    exif = _reset_orientation(image.exif) if image.exif else None
    sixteen = image.bit_depth == 16 and fmt in SIXTEEN_BIT_FORMATS
    convert = to_uint16 if sixteen else to_uint8
    if fmt == "TIFF":
        planes = [convert(image.rgb)]
        if keep_alpha and alpha is not None:
            planes.append(convert(alpha)[:, :, None])
        return _encode_tiff(np.concatenate(planes, axis=2), image.icc_profile, exif)
    if sixteen:
        return _encode_png16(image, exif, all_params, keep_alpha)
    arr = to_uint8(image.rgb)
    if keep_alpha:
        assert alpha is not None
        pil = Image.fromarray(np.dstack([arr, to_uint8(alpha)]), "RGBA")
    else:
        pil = Image.fromarray(arr, "RGB")
    kwargs: dict[str, Any] = {}
    if image.icc_profile and fmt != "BMP":
        kwargs["icc_profile"] = image.icc_profile
    if exif and fmt in {"JPEG", "PNG", "WEBP"}:
        kwargs["exif"] = exif
    if fmt == "JPEG":
        kwargs.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        kwargs.update(quality=quality)
    elif fmt == "PNG" and all_params:
        kwargs["pnginfo"] = _png_text(all_params)
    buf = io.BytesIO()
    pil.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _png_text(params: dict[str, Any]) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMS_KEY, json.dumps(params, sort_keys=True))
    info.add_text("Software", f"gptstudio {__version__}")
    return info


def _encode_png16(image: ImageData, exif: bytes | None, params: dict[str, Any], keep_alpha: bool) -> bytes:
    """Pillow cannot write 16-bit colour PNG, so OpenCV encodes and we add the metadata chunks."""
    import cv2

    arr = to_uint16(image.rgb)[:, :, ::-1]
    if keep_alpha and image.alpha is not None:
        arr = np.dstack([arr, to_uint16(image.alpha)])
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:
        raise ImageWriteError("OpenCV could not encode a 16-bit PNG.")
    chunks: list[tuple[bytes, bytes]] = []
    if image.icc_profile:
        # iCCP: profile name, NUL, compression method 0 (zlib), compressed profile.
        chunks.append((b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(image.icc_profile)))
    if exif:
        # eXIf holds the TIFF structure without JPEG's "Exif\0\0" marker.
        chunks.append((b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    if params:
        text = json.dumps(params, sort_keys=True).encode("latin-1")
        chunks.append((b"tEXt", PARAMS_KEY.encode() + b"\x00" + text))
        chunks.append((b"tEXt", b"Software\x00" + f"gptstudio {__version__}".encode("latin-1")))
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
    """Write a Deflate-compressed RGB(A) TIFF, 8 or 16 bits per channel, with ICC and EXIF.

    Neither Pillow (8 bits only; and its libtiff path fails on EXIF sub-directories) nor OpenCV
    (no ICC, no EXIF) can write what we need, so the file is laid out here: header, one
    directory serialised by Pillow, then the compressed strips.
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
                if tag in _EXIF_SUB_IFDS:
                    sub = parsed.get_ifd(tag)
                    if sub:
                        put(tag, dict(sub), TiffTags.LONG)
                elif tag in _TIFF_DESCRIPTIVE_TAGS:
                    ifd[tag] = value
        except Exception:  # malformed EXIF: write the picture without it rather than fail
            pass
    short, long_ = TiffTags.SHORT, TiffTags.LONG
    put(256, w, long_)
    put(257, h, long_)
    put(258, (bits,) * channels, short)
    put(259, 8, short)  # Adobe Deflate
    put(262, 2, short)  # RGB
    put(273, tuple(offsets), long_)
    put(274, 1, short)  # pixels are upright
    put(277, channels, short)
    put(278, rows_per_strip, long_)
    put(279, tuple(len(s) for s in strips), long_)
    put(284, 1, short)  # interleaved
    put(305, f"gptstudio {__version__}", TiffTags.ASCII)
    if channels == 4:
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
