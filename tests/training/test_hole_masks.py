"""The painted-mask generator behind inpainting training and its benchmark: every kind of mask,
areas inside the asked range, and the same masks again for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from gptstudio.training.hole_masks import SHAPES, bucket_holes, random_hole


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_each_kind_stays_in_the_coverage_range(kind: str) -> None:
    rng = np.random.default_rng(0)
    areas = [float(random_hole(96, 128, rng, (0.05, 0.5), kind).mean()) for _ in range(30)]
    assert min(areas) >= 0.05 and max(areas) <= 0.5
    assert max(areas) - min(areas) > 0.1, "a spread of sizes, not one"


def test_buckets_repeat_for_a_seed_and_differ_between_seeds() -> None:
    a = bucket_holes(64, 96, (0.1, 0.25), seed=3, count=3)
    b = bucket_holes(64, 96, (0.1, 0.25), seed=3, count=3)
    c = bucket_holes(64, 96, (0.1, 0.25), seed=4, count=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    assert all(0.1 <= float(m.mean()) < 0.25 and m.dtype == np.float32 for m in a)
