"""Tiling: tiles a model accepts, no seams, the same answer as untiled, bounded memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import SizeRequirements, pad_to, tiled_apply


def picture(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, c), dtype=np.float32)


def per_pixel(x: np.ndarray) -> np.ndarray:
    """A 'model' whose output pixel depends only on the input pixel (a colour curve)."""
    return (x**0.7 * 0.9 + 0.05).astype(np.float32)


def checked(fn: Callable[[np.ndarray], np.ndarray], req: SizeRequirements, seen: list[tuple[int, int]]):
    """Wrap ``fn`` so that any input violating the model's size requirements fails the test."""

    def run(x: np.ndarray) -> np.ndarray:
        h, w = x.shape[:2]
        seen.append((h, w))
        assert h >= req.minimum and w >= req.minimum
        assert h % req.multiple_of == 0 and w % req.multiple_of == 0
        assert not req.square or h == w
        return fn(x)

    return run


def upscale2(x: np.ndarray) -> np.ndarray:
    """An upscaler-like per-pixel model: each input pixel becomes a 2×2 block."""
    return np.repeat(np.repeat(per_pixel(x), 2, axis=0), 2, axis=1)


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap", "req"),
    [
        (97, 203, 64, 8, SizeRequirements()),  # odd, non-square
        (203, 97, 64, 16, SizeRequirements(multiple_of=8)),
        (150, 131, 48, 8, SizeRequirements(multiple_of=16, minimum=32)),
        (77, 129, 40, 8, SizeRequirements(square=True)),
        (90, 61, 32, 4, SizeRequirements(minimum=64, multiple_of=8, square=True)),  # tile < minimum
        (20, 13, 64, 8, SizeRequirements(multiple_of=8)),  # smaller than one tile
        (5, 300, 64, 8, SizeRequirements(minimum=16, multiple_of=16)),  # thinner than the minimum
    ],
)
def test_tiled_equals_untiled_for_per_pixel_model(
    h: int, w: int, tile: int, overlap: int, req: SizeRequirements
) -> None:
    image = picture(h, w)
    seen: list[tuple[int, int]] = []
    out = tiled_apply(image, checked(per_pixel, req, seen), tile=tile, overlap=overlap, req=req)
    assert out.shape == image.shape and out.dtype == np.float32
    assert np.abs(out - per_pixel(image)).max() <= 1 / 255
    if max(h, w) > tile:
        assert len(seen) > 1  # it really tiled


@pytest.mark.parametrize("req", [SizeRequirements(), SizeRequirements(multiple_of=8, square=True)])
def test_tiled_upscaler_scale_2(req: SizeRequirements) -> None:
    image = picture(70, 101)
    seen: list[tuple[int, int]] = []
    out = tiled_apply(image, checked(upscale2, req, seen), tile=32, overlap=8, req=req, scale=2)
    assert out.shape == (140, 202, 3)
    assert np.abs(out - upscale2(image)).max() <= 1 / 255


def test_output_channels_can_differ() -> None:
    image = picture(50, 70)
    out = tiled_apply(image, lambda x: x.mean(axis=2, keepdims=True), tile=32, overlap=8, out_channels=1)
    np.testing.assert_allclose(out[:, :, 0], image.mean(axis=2), atol=1e-6)


def test_no_seams_with_a_tile_dependent_model() -> None:
    # A model that brightens each tile by a different amount: blending must make the transition
    # gradual (no jump larger than the per-tile difference spread over the overlap).
    image = np.full((64, 256, 3), 0.5, np.float32)
    counter = iter(range(100))

    def uneven(x: np.ndarray) -> np.ndarray:
        return x + 0.02 * next(counter)

    out = tiled_apply(image, uneven, tile=64, overlap=32)
    steps = np.abs(np.diff(out[32, :, 0]))
    assert steps.max() < 0.01  # tiles differ by 0.02; a hard seam would jump by that much


def test_input_image_is_never_modified() -> None:
    image = picture(64, 100)
    before = image.copy()
    tiled_apply(image, lambda x: x, tile=32, overlap=8)  # a model that returns its own input
    np.testing.assert_array_equal(image, before)


def test_pad_to_handles_tiny_inputs() -> None:
    tiny = picture(1, 3)
    padded = pad_to(tiny, 16, 16)
    assert padded.shape == (16, 16, 3)
    np.testing.assert_array_equal(padded[:1, :3], tiny)


def test_progress_reported_per_tile_and_ends_at_one() -> None:
    seen: list[float] = []
    state = TaskState(callback=lambda f, msg: seen.append(f))
    tiled_apply(picture(100, 100), per_pixel, tile=40, overlap=8, state=state)
    assert len(seen) >= 9 and seen == sorted(seen) and seen[-1] == 1.0


def test_24_megapixel_memory_stays_bounded() -> None:
    h, w = 4000, 6000  # 24 megapixels
    image = np.zeros((h, w, 3), np.float32)
    output_bytes = h * w * 3 * 4
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = tiled_apply(image, lambda x: x + 0.25, tile=1024, overlap=32)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert out.shape == (h, w, 3)
    assert float(out[h // 2, w // 2, 0]) == pytest.approx(0.25)
    # The output canvas plus a few tiles; a full-size weight image or copy would break this.
    assert peak < 1.3 * output_bytes, f"peak {peak / 1e6:.0f} MB for a {output_bytes / 1e6:.0f} MB output"


def test_live_previews_show_finished_tiles_as_they_complete() -> None:
    """The GUI's preview fills in tile by tile and ends looking like the result."""
    rng = np.random.default_rng(3)
    image = rng.random((700, 900, 3), dtype=np.float32)
    previews: list[np.ndarray] = []
    state = TaskState(preview=lambda im: previews.append(np.asarray(im)))
    out = tiled_apply(image, lambda t: 1.0 - t, tile=256, overlap=16, state=state)
    assert len(previews) > 4
    assert max(previews[0].shape[:2]) <= 512
    step = -(-900 // 512)
    first_changed = np.mean(np.abs(previews[0] - image[::step, ::step]) > 1e-6)
    assert 0.0 < first_changed < 0.5  # only the first tile has landed
    assert np.abs(previews[-1] - out[::step, ::step]).max() < 0.05
