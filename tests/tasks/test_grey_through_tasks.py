"""A grey photo comes back grey, at its own bit depth, whatever the task (open → run → save)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gptstudio.cli import main
from gptstudio.core.imageio import read_params


def grey_ramp(h: int = 48, w: int = 64, *, bits: int) -> np.ndarray:
    """A smooth ramp with mild noise: more than 256 levels at 16 bits."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    values = 0.15 + 0.7 * (x / w + y / h) / 2 + np.random.default_rng(0).normal(0, 0.01, (h, w))
    peak = 65535 if bits == 16 else 255
    return np.clip(np.rint(values * peak), 0, peak).astype(np.uint16 if bits == 16 else np.uint8)


CASES = [
    ("png", 16, ["denoise", "--model", "classical-nlm"], "I;16", (48, 64)),
    ("tif", 16, ["denoise", "--model", "classical-nlm", "--strength", "0.5"], "I;16", (48, 64)),
    ("tif", 16, ["upscale", "--scale", "2"], "I;16", (96, 128)),
    ("png", 8, ["inpaint", "--mask", "MASK"], "L", (48, 64)),
    ("jpg", 8, ["denoise", "--model", "classical-nlm"], "L", (48, 64)),
]


@pytest.mark.parametrize(("ext", "bits", "command", "mode", "shape"), CASES)
def test_grey_stays_grey(
    tmp_path: Path, ext: str, bits: int, command: list[str], mode: str, shape: tuple[int, int]
) -> None:
    grey = grey_ramp(bits=bits)
    src, out = tmp_path / f"scan.{ext}", tmp_path / f"out.{ext}"
    Image.fromarray(grey).save(src)
    mask = np.zeros(grey.shape, np.uint8)
    mask[20:30, 20:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    args = [str(tmp_path / "mask.png") if a == "MASK" else a for a in command]
    assert main([args[0], str(src), "-o", str(out), *args[1:]]) == 0
    with Image.open(out) as im:
        assert im.mode == mode and im.size[::-1] == shape  # one channel, same depth
        result = np.asarray(im)
    if bits == 16:
        assert len(np.unique(result)) > 256  # still finer than 8 bits
    if command[0] != "upscale" and ext != "jpg":
        far = np.ones(grey.shape, bool)
        far[10:40, 10:40] = False
        assert np.abs(result[far].astype(int) - grey[far]).mean() < 0.02 * (65535 if bits == 16 else 255)
    assert read_params(out)["task"] == command[0]
