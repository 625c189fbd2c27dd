"""Masks: white (or painted) means "change here", from files of any mode, alpha or arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from core_imgutil import write_png16
from PIL import Image

from gptstudio.core.errors import MaskError
from gptstudio.core.imageio import from_array, load_image
from gptstudio.core.masks import (
    check_mask_size,
    composite,
    dilate,
    feather,
    invert,
    load_mask,
    mask_from_alpha,
    mask_from_image,
)


def square(h: int = 12, w: int = 16) -> np.ndarray:
    """A uint8 mask with a white 4×6 block: the area to change."""
    m = np.zeros((h, w), np.uint8)
    m[4:8, 5:11] = 255
    return m


EXPECTED = square() / 255.0


@pytest.mark.parametrize("mode", ["L", "1", "RGB", "P", "RGBA", "LA", "I;16"])
def test_mask_file_of_any_mode(tmp_path: Path, mode: str) -> None:
    gray = Image.fromarray(square())
    if mode == "I;16":
        im = Image.fromarray(square().astype(np.uint16) * 257)
    elif mode in ("RGBA", "LA"):
        im = gray.convert(mode)  # fully opaque: the brightness decides
    else:
        im = gray.convert(mode)
    im.save(tmp_path / "mask.png")
    np.testing.assert_allclose(load_mask(tmp_path / "mask.png", (16, 12)), EXPECTED, atol=1e-6)


def test_16bit_colour_mask_file(tmp_path: Path) -> None:
    m16 = np.repeat((square().astype(np.uint16) * 257)[:, :, None], 3, 2)
    write_png16(tmp_path / "mask16.png", m16)
    np.testing.assert_allclose(load_mask(tmp_path / "mask16.png"), EXPECTED, atol=1e-6)


def test_strokes_painted_on_transparent_layer(tmp_path: Path) -> None:
    rgba = np.zeros((12, 16, 4), np.uint8)
    rgba[:, :, :3] = 255  # white everywhere, visible only where painted
    rgba[:, :, 3] = square()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "strokes.png")
    np.testing.assert_allclose(load_mask(tmp_path / "strokes.png"), EXPECTED)
    np.testing.assert_allclose(mask_from_image(from_array(rgba)), EXPECTED)


def test_white_strokes_over_transparent_black(tmp_path: Path) -> None:
    rgba = np.zeros((12, 16, 4), np.uint8)
    rgba[square() > 0] = 255
    np.testing.assert_allclose(mask_from_image(from_array(rgba)), EXPECTED)


def test_opaque_black_mask_changes_nothing(tmp_path: Path) -> None:
    # An all-black mask saved with an opaque alpha channel means "change nothing", not everything.
    Image.new("RGBA", (16, 12), (0, 0, 0, 255)).save(tmp_path / "black.png")
    assert load_mask(tmp_path / "black.png").max() == 0.0
    opaque_black = np.zeros((4, 4, 4), np.uint8) + np.array([0, 0, 0, 255], np.uint8)
    assert mask_from_image(from_array(opaque_black)).max() == 0.0


def test_mask_from_alpha_transparent_means_fill() -> None:
    rgba = np.dstack([np.full((12, 16, 3), 90, np.uint8), 255 - square()])
    np.testing.assert_allclose(mask_from_alpha(from_array(rgba)), EXPECTED)
    with pytest.raises(MaskError, match="no transparency"):
        mask_from_alpha(from_array(np.zeros((4, 4, 3), np.uint8)))


def test_size_mismatch_is_clear() -> None:
    check_mask_size(np.zeros((12, 16)), (16, 12))
    with pytest.raises(MaskError, match="The mask is 16×12 but the image is 12×16"):
        check_mask_size(np.zeros((12, 16)), (12, 16))
    with pytest.raises(MaskError, match="2-D"):
        check_mask_size(np.zeros((12, 16, 3)), (16, 12))


def test_mask_from_image_same_as_file(tmp_path: Path) -> None:
    Image.fromarray(square()).save(tmp_path / "m.png")
    np.testing.assert_array_equal(
        mask_from_image(load_image(tmp_path / "m.png")), load_mask(tmp_path / "m.png")
    )


def test_dilate_grows_by_the_given_pixels() -> None:
    m = np.zeros((21, 21), np.float32)
    m[10, 10] = 1
    grown = dilate(m, 3)
    ys, xs = np.nonzero(grown)
    assert ys.min() == 7 and ys.max() == 13 and xs.min() == 7 and xs.max() == 13
    assert grown[7, 7] == 0  # round, not square
    np.testing.assert_array_equal(dilate(m, 0), m)


def test_feather_softens_only_the_edge() -> None:
    m = (square(40, 40) > 0).astype(np.float32)
    m[:] = 0
    m[10:30, 10:30] = 1
    soft = feather(m, 4)
    assert soft.min() >= 0 and soft.max() <= 1
    assert soft[20, 20] == pytest.approx(1.0, abs=1e-3)  # deep inside: untouched
    assert soft[0, 0] == pytest.approx(0.0, abs=1e-6)  # far outside: untouched
    row = soft[20, 5:15]
    assert np.all(np.diff(row) >= -1e-6) and 0.2 < soft[20, 10] < 0.8  # a smooth ramp across the edge
    np.testing.assert_array_equal(feather(m, 0), m)


def test_composite_and_invert() -> None:
    original = np.zeros((4, 4, 3), np.float32)
    result = np.ones((4, 4, 3), np.float32)
    mask = np.zeros((4, 4), np.float32)
    mask[:2] = 1
    mask[2, 0] = 0.25
    out = composite(original, result, mask)
    np.testing.assert_array_equal(out[:2], 1)
    np.testing.assert_array_equal(out[3], 0)
    assert out[2, 0, 0] == pytest.approx(0.25)
    np.testing.assert_array_equal(invert(mask), 1 - mask)
    with pytest.raises(MaskError, match="Cannot blend"):
        composite(original, result, np.zeros((3, 4), np.float32))


def test_mask_obeys_the_megapixel_limit_option(tmp_path: Path) -> None:
    Image.new("L", (1500, 1000), 255).save(tmp_path / "big.png")
    with pytest.raises(MaskError, match="--max-megapixels"):
        load_mask(tmp_path / "big.png", max_megapixels=1)
    assert load_mask(tmp_path / "big.png", (1500, 1000), max_megapixels=2).shape == (1000, 1500)
