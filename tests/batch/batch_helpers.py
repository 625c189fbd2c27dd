"""Folders of small test images and tiny engines for the batch tests (all made in the test's tmp_path).

``make_folder`` builds what a user's photo folder looks like: nested sub-folders, several formats
(PNG, a JPEG with EXIF and an ICC profile, 16-bit PNG, WebP), a truncated JPEG, a text file renamed
``.png``, an image above a low pixel limit, and a file that is no image at all by extension.
``SlowInvert`` sleeps per image so a test can stop or kill a batch part-way through;
``Invert`` is instant and serves denoise and restore, recording the mode it was given.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import time
import zlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageCms

from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo, RestorationEngine
from gptstudio.models.registry import ModelEntry

#: The limit the folder's ``big.png`` (120×100 = 0.012 MP) is above and every other file below.
LIMIT_MP = 0.01
#: Inputs of make_folder that decode fine, and those that fail, with a word of their reason.
GOOD = ["nested/deeper/deep16.png", "nested/pic.webp", "photo.jpg", "top.png"]
BAD = {"big.png": "megapixels", "nested/broken.jpg": "damaged", "nested/notes.png": "not an image"}


_SRGB: list[bytes] = []


def srgb_icc() -> bytes:
    """One sRGB profile per test session: a profile's header holds the second it was made, so two
    made a second apart differ and a comparison of "the same profile" would fail by the clock."""
    if not _SRGB:
        _SRGB.append(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    return _SRGB[0]


def exif_bytes() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x8769] = {0x9003: "2024:01:02 03:04:05"}
    return exif.tobytes()


def picture(h: int, w: int, seed: int) -> np.ndarray:
    """uint8 RGB: smooth ramps plus noise, so a denoiser changes every file."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 127 // (h + w)], 2)
    return np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)


def _png16(path: Path, arr: np.ndarray) -> None:
    """A 16-bit RGB PNG written by hand, independently of the code under test."""
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    data = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data)


def make_folder(root: Path, *, bad: bool = True) -> Path:
    """The sample folder described in the module docstring; returns ``root``."""
    (root / "nested" / "deeper").mkdir(parents=True)
    Image.fromarray(picture(48, 64, 1)).save(root / "top.png")
    Image.fromarray(picture(40, 56, 2)).save(
        root / "photo.jpg", quality=92, exif=exif_bytes(), icc_profile=srgb_icc()
    )
    rng = np.random.default_rng(3)
    deep = (picture(32, 40, 3).astype(np.uint16) * 257 + rng.integers(0, 256, (32, 40, 3))).astype(np.uint16)
    _png16(root / "nested" / "deeper" / "deep16.png", deep)
    Image.fromarray(picture(36, 52, 4)).save(root / "nested" / "pic.webp", lossless=True)
    (root / "readme.txt").write_text("not an image by its name; never planned")
    if bad:
        Image.fromarray(picture(100, 120, 5)).save(root / "big.png")
        buf = io.BytesIO()
        Image.fromarray(picture(64, 64, 6)).save(buf, format="JPEG")
        (root / "nested" / "broken.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        (root / "nested" / "notes.png").write_text("meeting notes, saved with the wrong extension\n" * 20)
    return root


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root``: content hash and modification time (to prove nothing was written)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                path.stat().st_mtime_ns,
            )
    return out


def records(out_dir: Path, kind: str = "file") -> list[dict[str, Any]]:
    lines = (out_dir / "gptstudio-batch.jsonl").read_text().splitlines()
    return [r for r in (json.loads(line) for line in lines if line.strip()) if r.get("kind") == kind]


def by_path(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each input path."""
    return {r["path"]: r for r in recs}


# --- tiny engines ----------------------------------------------------------------------------------

SLOW_INFO = EngineInfo(
    id="test-batch-slow",
    name="Slow invert (batch test)",
    tasks=("denoise",),
    architecture="test-slow",
    tile=0,
    uses=frozenset({"strength"}),
    licence="test",
)
INVERT_INFO = EngineInfo(
    id="test-batch-invert",
    name="Invert (batch test)",
    tasks=("denoise", "restore"),
    architecture="test-invert",
    tile=0,
    uses=frozenset({"strength", "mode"}),
    licence="test",
)


class SlowInvert(RestorationEngine):
    """Inverts the image in ``steps`` steps of ``seconds / steps`` each, reporting progress."""

    info = SLOW_INFO
    seconds = float(os.environ.get("GPTSTUDIO_TEST_SLOW_SECONDS", "0.25"))
    steps = 5

    def restore(
        self, rgb: np.ndarray, *, strength: float, mode: str, state: TaskState, tile: int | None = None
    ) -> np.ndarray:
        for i in range(self.steps):
            state.report(i / self.steps, f"Step {i + 1}")
            time.sleep(self.seconds / self.steps)
        return 1.0 - rgb


class Invert(RestorationEngine):
    info = INVERT_INFO
    modes: ClassVar[list[str]] = []

    def restore(
        self, rgb: np.ndarray, *, strength: float, mode: str, state: TaskState, tile: int | None = None
    ) -> np.ndarray:
        type(self).modes.append(mode)
        return rgb + strength * ((1.0 - rgb) - rgb)


def register_slow() -> None:
    from gptstudio.models import registry

    registry.register(ModelEntry(SLOW_INFO, lambda device: SlowInvert(), priority=-1))


def register_invert() -> None:
    from gptstudio.models import registry

    registry.register(ModelEntry(INVERT_INFO, lambda device: Invert(), priority=-1))
