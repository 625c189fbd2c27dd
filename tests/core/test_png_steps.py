"""The stepwise PNG encoder of the .ora layers: every reader gets the exact pixels back, and the
encoder stops at its checkpoint between steps (where the autosave waits while the window is busy)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from core_imgutil import exif_bytes, gradient, random16, srgb_icc
from PIL import Image

from gptstudio.core import png_steps
from gptstudio.core.imageio import from_array, load_image, to_uint8, to_uint16
from gptstudio.core.png_steps import encode_png


def _reopen(tmp_path: Path, png: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / "layer.png"
    path.write_bytes(png)
    return load_image(path)


@pytest.mark.parametrize(
    "pixels, alpha",
    [
        (gradient(37, 53, seed=1), None),
        (gradient(37, 53, seed=2), gradient(37, 53, seed=3)[:, :, 0]),
        (random16(29, 41, 3, seed=4), None),
        (random16(29, 41, 3, seed=5), random16(29, 41, 1, seed=6)[:, :, 0]),
        (gradient(37, 53, seed=7)[:, :, 0], None),  # grey stays grey
        (random16(29, 41, 1, seed=8)[:, :, 0], random16(29, 41, 1, seed=9)[:, :, 0]),
    ],
)
def test_pixels_bit_depth_grey_and_alpha_come_back_exactly(tmp_path: Path, pixels, alpha) -> None:  # type: ignore[no-untyped-def]
    image = from_array(pixels, alpha)
    back = _reopen(tmp_path, encode_png(image))
    assert (back.bit_depth, back.gray) == (image.bit_depth, image.gray)
    convert = to_uint16 if image.bit_depth == 16 else to_uint8
    assert np.array_equal(convert(back.rgb), convert(image.rgb))
    if alpha is None:
        assert back.alpha is None
    else:
        assert back.alpha is not None and np.array_equal(convert(back.alpha), alpha)


def test_colour_profile_and_exif_travel_and_pillow_agrees(tmp_path: Path) -> None:
    from dataclasses import replace

    image = replace(from_array(gradient(20, 30, seed=1)), icc_profile=srgb_icc(), exif=exif_bytes(make="Cam"))
    png = encode_png(image, level=1)
    back = _reopen(tmp_path, png)
    assert back.icc_profile == image.icc_profile
    with Image.open(io.BytesIO(png)) as pil:
        assert np.array_equal(np.asarray(pil.convert("RGB")), gradient(20, 30, seed=1))
        assert pil.getexif()[0x010F] == "Cam"


def test_the_encoder_stops_at_its_checkpoint_between_steps(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A big layer is written in many short steps, each followed by the checkpoint."""
    monkeypatch.setattr(png_steps, "STEP_BYTES", 30 * 3 * 10)  # ten rows a step
    image = from_array(gradient(95, 30, seed=2))
    rows_done: list[int] = []
    png = encode_png(image, checkpoint=lambda: rows_done.append(len(rows_done)))
    assert len(rows_done) == 10, "95 rows in steps of 10"
    assert np.array_equal(to_uint8(_reopen(tmp_path, png).rgb), gradient(95, 30, seed=2))
