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


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def _srgb_to_lab(rgb: list[float]) -> tuple[float, float, float]:
    """sRGB (0..255) to CIE Lab under D50, the ICC connection space (Bradford-adapted matrix)."""
    c = np.asarray(rgb, float) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [
            [0.4360747, 0.3850649, 0.1430804],
            [0.2225045, 0.7168786, 0.0606169],
            [0.0139322, 0.0971045, 0.7141733],
        ]
    )
    xyz = m @ lin / np.array([0.9642, 1.0, 0.8249])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def cmyk_icc(render: object) -> bytes:
    """A minimal but real ICC v2 CMYK printer profile (lut8 A2B0 to Lab), as print shops embed.

    ``render(c, m, y, k)`` (each 0 or 1) gives the sRGB colour (0..255) of each ink corner; the
    profile interpolates between them. LittleCMS accepts it, so conversions through it can be
    checked against ``render``.
    """
    clut = b""
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    lab_l, lab_a, lab_b = _srgb_to_lab(render(c, m, y, k))  # type: ignore[operator]
                    clut += bytes([round(lab_l * 255 / 100), round(lab_a + 128), round(lab_b + 128)])
    ramp = bytes(range(256))
    identity = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    mft1 = b"mft1" + b"\0" * 4 + bytes([4, 3, 2, 0]) + identity + ramp * 4 + clut + ramp * 3
    return _icc(b"prtr", b"CMYK", b"Lab ", [(b"A2B0", mft1)])


def gray_icc(gamma: float) -> bytes:
    """A real ICC v2 gray profile with a pure gamma curve (1.0 = linear light)."""
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", round(gamma * 256))
    return _icc(b"mntr", b"GRAY", b"XYZ ", [(b"kTRC", curve)])


def _icc(cls: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """Header, tag table and tags (plus a D50 white point) of a version 2.1 ICC profile."""
    tags = [*tags, (b"wtpt", b"XYZ " + b"\0" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.8249))]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = struct.pack(">I", offset + len(data)) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + cls + space + pcs
    header += b"\0" * 12 + b"acsp" + b"\0" * 28 + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    return header + b"\0" * (128 - len(header)) + table + data
