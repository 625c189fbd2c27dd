"""The shipped inpainting Transformer (GIT) through the inpaint task: the default inpainter, a
fill that continues its surroundings, and nothing of what the user painted over coming back."""

from __future__ import annotations

import numpy as np
import pytest

from gptstudio import tasks
from gptstudio.core.imagedata import from_array
from gptstudio.engines.native import shipped
from gptstudio.models import registry
from gptstudio.tasks import InpaintRequest
from gptstudio.tasks.native_size import reduced_hole

pytestmark = pytest.mark.skipif(
    not shipped.INPAINT_WEIGHTS_FILE.is_file(), reason="shipped weights file is not in this checkout"
)


def _gradient(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([0.15 + 0.7 * x / w, 0.2 + 0.6 * y / h, 0.8 - 0.5 * (x + y) / (w + h)], axis=2)


def _sky(h: int, w: int) -> np.ndarray:
    """A clear sky: deep blue at the top to pale at the horizon, a little warmer to the right."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    top, horizon, warm = np.array([0.2, 0.4, 0.8]), np.array([0.75, 0.85, 0.95]), np.array([1.0, 0.5, -0.3])
    sky = top + (horizon - top) * (y / h)[..., None] + 0.08 * (x / w - 0.5)[..., None] * warm
    return sky.astype(np.float32)


def test_the_shipped_inpainter_is_the_default_and_fills_a_gradient_far_better_than_grey() -> None:
    """The first thing people remove is something in front of the sky: the hole must come back
    as sky, not as a lighter patch (the network alone left one 3.6 levels off on average)."""
    assert shipped.INPAINT_MODEL_CARD.is_file(), "the shipped weights need their model card beside them"
    assert shipped.INPAINT_WEIGHTS_FILE.stat().st_size <= 20 * 1024 * 1024
    assert registry.default_model("inpaint") == shipped.INPAINT_INFO.id
    for clean in (_sky(240, 300), _gradient(160, 200)):
        h, w = clean.shape[:2]
        hole = np.zeros((h, w), np.float32)
        hole[h // 3 : h * 2 // 3, w // 4 : w * 3 // 4] = 1
        damaged = np.where(hole[..., None] > 0, 0.5, clean).astype(np.float32)
        result = tasks.run(InpaintRequest(image=from_array(damaged), mask=hole, seed=1, grow=0, feather=0))
        assert result.params["model"] == shipped.INPAINT_INFO.id and result.params["seed"] == 1
        inside = hole > 0
        grey = np.abs(damaged - clean)[inside].mean()
        fill = np.abs(result.image.rgb - clean)[inside].mean()
        assert fill < grey / 20, f"mean error inside the hole {fill * 255:.1f} levels, grey {grey * 255:.1f}"
        assert np.array_equal(result.image.rgb[~inside], damaged[~inside])


@pytest.mark.parametrize(
    ("size", "box"),
    [
        ((150, 203), (slice(0, 60), slice(120, 203))),  # fits the working size: padded, hole at two edges
        ((620, 700), (slice(150, 470), slice(200, 520))),  # larger: filled scaled down
    ],
)
def test_nothing_under_the_hole_comes_back_in_the_fill(size: tuple[int, int], box: tuple[slice, ...]) -> None:
    """Remove a red object or a green one from the same photo: the results are the same, so no
    pixel of the object reached the model through padding or resampling."""
    h, w = size
    photo = _gradient(h, w) + np.random.default_rng(0).normal(0, 0.02, (h, w, 3)).astype(np.float32)
    hole = np.zeros((h, w), np.float32)
    hole[box] = 1
    results = []
    for colour in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)):
        rgb = np.clip(photo, 0, 1)
        rgb[hole > 0] = colour
        request = InpaintRequest(image=from_array(rgb), mask=hole, seed=2, grow=0, feather=0)
        results.append(tasks.run(request).image.rgb)
    assert np.array_equal(results[0], results[1])


def test_a_reduced_hole_covers_every_pixel_the_resampling_drew_from_it() -> None:
    from gptstudio.engines.classical.lanczos import resize

    hole = np.zeros((300, 410), np.float32)
    hole[100:180, 150:260] = 1
    for size in ((205, 150), (176, 128), (400, 304)):
        small = reduced_hole(hole, *size)
        a, b = np.zeros((300, 410, 3), np.float32), np.zeros((300, 410, 3), np.float32)
        b[hole > 0] = 1.0
        differs = np.abs(resize(a, *size) - resize(b, *size)).max(axis=2) > 0
        assert small[differs].all(), f"a pixel tinted by the hole is not in the reduced hole at {size}"
        assert small.mean() < 3 * differs.mean(), "and the reduced hole is not much larger"


def test_the_grain_given_to_a_reduced_fill_is_measured_around_the_hole_only() -> None:
    """A fill made at a reduced scale gets grain of the surroundings' noise level: the noise of
    the object being removed must not set it."""
    from gptstudio.core.noise_estimate import estimate_noise_sigma
    from gptstudio.core.progress import TaskState
    from gptstudio.tasks.inpaint_seam import restore_detail

    rng = np.random.default_rng(4)
    photo = np.clip(0.5 + rng.normal(0, 3 / 255, (96, 128, 3)), 0, 1).astype(np.float32)
    hole = np.zeros((96, 128), np.float32)
    hole[24:72, 32:96] = 1
    noisy_object = photo.copy()
    noisy_object[hole > 0] = np.clip(0.5 + rng.normal(0, 40 / 255, noisy_object[hole > 0].shape), 0, 1)
    fill = np.where(hole[..., None] > 0, 0.5, photo).astype(np.float32)
    a = restore_detail(photo, fill, hole, 1, TaskState())
    b = restore_detail(noisy_object, fill, hole, 1, TaskState())
    assert np.array_equal(a, b)
    assert estimate_noise_sigma(noisy_object, where=hole == 0) == pytest.approx(3.0, abs=0.6)
    box, ring = noisy_object[12:84, 20:108], hole[12:84, 20:108] == 0  # the hole and 12 px around it
    assert estimate_noise_sigma(box) > 2 * estimate_noise_sigma(box, where=ring)
