"""Small builders for test images: every file a test reads is made here, in the test's tmp_path."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms


def srgb_icc() -> bytes:
    """A real sRGB ICC profile (as cameras and editors embed), made by LittleCMS."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_bytes(orientation: int = 1, make: str = "TestCam", date: str = "2024:01:02 03:04:05") -> bytes:
    """EXIF with an orientation, a camera make (IFD0) and a capture date (Exif sub-directory)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = make
    exif[0x8769] = {0x9003: date}
    return exif.tobytes()


def gradient(h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 RGB test picture: smooth ramps plus noise, so every pixel is different."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 127 // max(h + w, 1)], 2)
    return np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)


def random16(h: int, w: int, channels: int, seed: int = 0) -> np.ndarray:
    """uint16 values that use the low byte too, so any 8-bit reduction is visible."""
    return np.random.default_rng(seed).integers(0, 65536, (h, w, channels), dtype=np.uint16)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def write_png16(path: Path, arr: np.ndarray, extra_chunks: list[tuple[bytes, bytes]] | None = None) -> Path:
    """Write a 16-bit PNG by hand (gray, gray+alpha, RGB or RGBA), independently of the code under test."""
    arr = arr if arr.ndim == 3 else arr[:, :, None]
    h, w, c = arr.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    big = arr.astype(">u2")
    raw = b"".join(b"\x00" + big[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    chunks = [_chunk(b"IHDR", ihdr)]
    chunks += [_chunk(k, b) for k, b in (extra_chunks or [])]
    chunks += [_chunk(b"IDAT", zlib.compress(raw)), _chunk(b"IEND", b"")]
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))
    return path


def png_claiming_size(path: Path, width: int, height: int) -> Path:
    """A tiny real PNG whose IHDR (with a correct CRC) claims ``width``×``height``."""
    Image.new("RGB", (4, 4), (10, 20, 30)).save(path)
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def read16_cv2(path: Path) -> np.ndarray:
    """Read a file with OpenCV, full bit depth, as RGB(A) order: an independent check of our writer."""
    import cv2

    raw = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw is not None
    if raw.ndim == 3:
        raw = raw[:, :, [2, 1, 0, 3][: raw.shape[2]]]
    return raw


def orient_source(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels a camera writes so that applying ``orientation`` shows ``upright``.

    Inverse of the EXIF transforms (2,3,4,5,7 are their own inverse; 6 and 8 swap).
    """
    inverse = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, 1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a, -1),
    }
    return np.ascontiguousarray(inverse[orientation](upright))
