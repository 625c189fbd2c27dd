"""Adjustments are exact on known pixel values, keep 16-bit precision and respect a mask."""

from __future__ import annotations

import numpy as np
import pytest

from gptstudio.core.adjust import (
    MID_GREY,
    Adjustments,
    apply_adjustments,
    auto_levels,
    grey_point_gains,
    histogram,
    sample_colour,
)
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.imagedata import from_array, to_uint8, to_uint16
from gptstudio.tasks.adjust import AdjustRequest, adjust


def grey8(values: list[int]) -> np.ndarray:
    """A one-row grey image of 8-bit levels, as float, the way image reading makes it."""
    arr = np.asarray(values, np.uint8).reshape(1, -1)
    return from_array(np.dstack([arr, arr, arr])).rgb


def out8(rgb: np.ndarray) -> list[int]:
    return to_uint8(rgb)[0, :, 0].tolist()


def test_levels_map_16_to_0_and_235_to_255() -> None:
    rgb = grey8([0, 16, 17, 128, 234, 235, 255])
    out = apply_adjustments(rgb, Adjustments(black=16 / 255, white=235 / 255))
    got = out8(out)
    assert got[:2] == [0, 0] and got[-2:] == [255, 255]
    assert got[2] == round(1 / 219 * 255)  # 17 -> 1.16 -> 1
    assert got[3] == round(112 / 219 * 255)  # a straight line between the points


def test_contrast_keeps_mid_grey_and_spreads_the_rest() -> None:
    rgb = grey8([64, 128, 192])
    out = apply_adjustments(rgb, Adjustments(contrast=2.0))
    assert out[0, 1, 0] == MID_GREY
    assert out8(out) == [0, 128, 255]
    flat = apply_adjustments(rgb, Adjustments(contrast=0.0))
    assert out8(flat) == [128, 128, 128]


def test_brightness_adds_a_fraction_of_the_range() -> None:
    out = apply_adjustments(grey8([0, 100, 250]), Adjustments(brightness=10 / 255))
    assert out8(out) == [10, 110, 255]  # clipped at white


def test_saturation_zero_gives_luminance_grey_and_one_changes_nothing() -> None:
    rgb = from_array(np.array([[[255, 0, 0], [10, 200, 30]]], np.uint8)).rgb
    grey = apply_adjustments(rgb, Adjustments(saturation=0.0))
    assert np.allclose(grey[0, 0], 0.2126, atol=1e-6)
    assert np.ptp(grey[0, 1]) < 1e-6
    assert np.array_equal(apply_adjustments(rgb, Adjustments()), rgb)


def test_colour_balance_acts_on_its_tonal_range() -> None:
    rgb = grey8([0, 128, 255])
    out = apply_adjustments(rgb, Adjustments(shadows=(1.0, 0.0, 0.0)))
    # black is fully "shadow": red moves up by a quarter of the range; white is not touched
    assert out[0, 0, 0] == pytest.approx(0.25) and out[0, 0, 1] == 0.0
    assert np.array_equal(out[0, 2], rgb[0, 2])
    out = apply_adjustments(rgb, Adjustments(highlights=(0.0, 0.0, -1.0)))
    assert out[0, 2, 2] == pytest.approx(0.75) and np.array_equal(out[0, 0], rgb[0, 0])


def test_grey_point_gains_make_the_picked_colour_neutral() -> None:
    warm = np.array([0.6, 0.5, 0.4], np.float32)
    gains = grey_point_gains(warm)
    rgb = np.tile(warm, (2, 2, 1))
    out = apply_adjustments(rgb, Adjustments(wb_gains=gains))
    assert np.ptp(out[0, 0]) < 1e-5
    assert float(out[0, 0, 0]) == pytest.approx(float(np.dot(warm, [0.2126, 0.7152, 0.0722])), abs=1e-5)
    assert np.allclose(sample_colour(rgb, 1, 1), warm)
    with pytest.raises(InvalidRequestError, match="outside"):
        sample_colour(rgb, 5, 0)


def test_auto_levels_stretches_a_dull_image() -> None:
    rng = np.random.default_rng(0)
    v = rng.integers(40, 201, size=(64, 64), dtype=np.uint8)
    v[0, 0], v[0, 1] = 0, 255  # single outliers are clipped away
    rgb = from_array(v).rgb
    black, white = auto_levels(rgb)
    assert black * 255 == pytest.approx(40, abs=1) and white * 255 == pytest.approx(200, abs=1)
    assert auto_levels(np.full((8, 8, 3), 0.5, np.float32)) == (0.0, 1.0)  # flat: left alone
    out = apply_adjustments(rgb, Adjustments(black=black, white=white))
    assert out.min() == 0.0 and out.max() == 1.0


def test_sixteen_bit_precision_survives() -> None:
    v = np.array([[1000, 1001, 30000, 65000]], np.uint16)
    image = from_array(np.dstack([v, v, v]))
    result = adjust(AdjustRequest(image, Adjustments(brightness=0.01)))
    assert result.image.bit_depth == 16
    got = to_uint16(result.image.rgb)[0, :, 0].astype(int)
    want = np.minimum(v[0].astype(int) + round(0.01 * 65535), 65535)
    assert np.abs(got - want).max() <= 1
    assert got[1] - got[0] == 1  # neighbouring 16-bit levels stay apart (8 bits would merge them)


def test_task_records_parameters_and_limits_to_the_mask() -> None:
    image = from_array(np.full((40, 40, 3), 100, np.uint8))
    mask = np.zeros((40, 40), np.float32)
    mask[:, 20:] = 1.0
    result = adjust(AdjustRequest(image, Adjustments(brightness=0.2, contrast=1.5), mask=mask, feather=0))
    out = to_uint8(result.image.rgb)
    assert (out[:, :20] == 100).all() and (out[:, 20:] != 100).all()
    p = result.params
    assert p["task"] == "adjust" and p["brightness"] == 0.2 and p["contrast"] == 1.5 and p["masked"] is True
    assert Adjustments.from_params(p) == Adjustments(brightness=0.2, contrast=1.5)


def test_auto_levels_request_records_the_points_it_measured() -> None:
    v = np.linspace(50, 180, 64 * 64).astype(np.uint8).reshape(64, 64)
    result = adjust(AdjustRequest(from_array(v), auto_levels=True))
    assert result.params["auto_levels"] is True
    assert result.params["black"] == pytest.approx(50 / 255, abs=1 / 255)
    assert to_uint8(result.image.rgb).min() == 0 and to_uint8(result.image.rgb).max() == 255


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"contrast": -1.0}, "Contrast"),
        ({"black": 0.5, "white": 0.4}, "white point"),
        ({"gamma": 0.0}, "Gamma"),
        ({"shadows": (2.0, 0.0, 0.0)}, "Shadows"),
        ({"brightness": float("nan")}, "Brightness"),
    ],
)
def test_bad_values_are_refused_with_their_name(kwargs: dict, words: str) -> None:
    with pytest.raises(InvalidRequestError, match=words):
        Adjustments(**kwargs)


def test_histogram_counts_each_channel_and_luminance() -> None:
    rgb = from_array(np.array([[[255, 0, 0], [255, 0, 0], [0, 0, 255]]], np.uint8)).rgb
    h = histogram(rgb)
    assert h.shape == (4, 256)
    assert h[0, 255] == 2 and h[0, 0] == 1 and h[2, 255] == 1
    assert h[3].sum() == 3
