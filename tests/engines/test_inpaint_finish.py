"""The harmonic fill, and what the GIT engine does with it: smooth surroundings get a smooth fill,
textured ones keep the network's detail."""

from __future__ import annotations

import cv2
import numpy as np

from gptstudio.engines.classical.harmonic import harmonic_fill
from gptstudio.engines.native.inpaint_finish import settle, smoothness


def _ramp(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w, y / h, 1 - x / w], axis=2)


def _blob(h: int, w: int) -> np.ndarray:
    """An irregular hole that also runs off the picture's right edge."""
    hole = np.zeros((h, w), np.uint8)
    cv2.ellipse(hole, (w // 2, h // 2), (w // 4, h // 5), 30, 0, 360, 1, -1)
    hole[h // 3 : h // 3 + 12, w // 2 :] = 1
    return hole.astype(np.float32)


def test_the_harmonic_fill_brings_back_a_colour_ramp_and_keeps_the_known_pixels() -> None:
    ramp = _ramp(150, 220)
    hole = _blob(150, 220)
    damaged = np.where(hole[..., None] > 0, 0.0, ramp).astype(np.float32)
    filled = harmonic_fill(damaged, hole)
    assert np.abs(filled - ramp)[hole > 0].mean() * 255 < 0.5, "a linear ramp is harmonic: it comes back"
    assert np.array_equal(filled[hole == 0], damaged[hole == 0])
    grey = harmonic_fill(damaged[..., 0], hole)  # one channel works as well
    assert grey.shape == hole.shape and np.abs(grey - ramp[..., 0])[hole > 0].mean() * 255 < 0.5
    assert np.array_equal(harmonic_fill(damaged, np.zeros_like(hole)), damaged)


def test_settling_makes_a_smooth_fill_of_smooth_surroundings_and_keeps_texture_elsewhere() -> None:
    hole = _blob(150, 220)
    inside = hole > 0
    ramp = _ramp(150, 220)
    grey_fill = np.where(inside[..., None], 0.5, ramp).astype(np.float32)
    assert smoothness(ramp, hole)[inside].min() == 1.0
    settled = settle(ramp, hole, grey_fill)
    assert np.abs(settled - ramp)[inside].mean() * 255 < 0.5, "the grey patch in a ramp is gone"

    texture = np.random.default_rng(0).random((150, 220, 3)).astype(np.float32)
    photo = np.clip(0.7 * ramp + 0.3 * cv2.GaussianBlur(texture, (0, 0), 1.0) * 3 - 0.45, 0, 1)
    noise = np.random.default_rng(1).random((150, 220, 3))
    fill = np.where(inside[..., None], noise, photo).astype(np.float32)
    assert smoothness(photo, hole)[inside].max() == 0.0
    settled = settle(photo, hole, fill)
    assert np.array_equal(settled[~inside], fill[~inside])
    change = settled - fill
    both = inside[:, 1:] & inside[:, :-1]
    step = np.abs(np.diff(change, axis=1))[both]
    detail = np.abs(np.diff(fill, axis=1))[both]
    assert step.max() < 0.02 and detail.mean() > 10 * step.mean(), "only the broad shading moves"
