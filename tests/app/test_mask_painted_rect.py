"""The mask's painted rectangle: every way of writing the mask keeps it a superset of what is
painted, so reading only inside it (Run, an inpaint landing, its undo) gives the whole mask."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRect
from PySide6.QtGui import QPainterPath

from gptstudio.app.history_mask import grab, put
from gptstudio.app.mask_box import read_box, write_box
from gptstudio.app.mask_layer import MaskItem, read_alpha


def _full(mask: MaskItem) -> np.ndarray:
    return read_alpha(mask.readable())


@pytest.mark.parametrize("seed", range(6))
def test_reads_inside_the_painted_rect_equal_the_whole_mask(qapp, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    mask = MaskItem(300, 200)
    assert mask.painted_rect().isEmpty() and mask.is_empty() and mask.alpha_image() is None
    for _ in range(12):
        op = int(rng.integers(0, 9))
        x, y = float(rng.uniform(0, 300)), float(rng.uniform(0, 200))
        if op == 0:
            mask.paint_dabs([QPointF(x, y), QPointF(x + 20, y + 5)], 15, 0.5, erase=bool(rng.integers(0, 2)))
        elif op == 1:
            path = QPainterPath()
            path.addRect(x, y, 40, 30)
            mask.fill_path(path, erase=False)
        elif op == 2:
            mask.clear_all()
        elif op == 3:
            tiles = mask.copy_tiles(mask.tiles_in(QRect(0, 0, 300, 200)))
            mask.clear_all()
            mask.put_tiles(tiles)
        elif op == 4:
            box = grab(mask)
            mask.clear_all()
            put(mask, box)
        elif op == 5:
            x0, y0 = int(x) // 2, int(y) // 2
            write_box(mask, (x0, y0, x0 + 30, y0 + 20), np.full((20, 30), 200, np.uint8))
        elif op == 6:
            mask.invert_all() if rng.integers(0, 4) == 0 else mask.clear_all()
        elif op == 7:
            a8 = mask.alpha_image()
            mask.clear_all()
            mask.set_alpha_image(a8)
        else:
            alpha = np.zeros((200, 300), np.uint8)
            alpha[int(y) // 2 : int(y) // 2 + 10, 5:50] = 255
            mask.set_alpha(alpha)
        full = _full(mask)
        np.testing.assert_array_equal(mask.alpha(), full)
        assert mask.is_empty() == (not full.any())
        box = grab(mask)
        rebuilt = np.zeros_like(full)
        if box is not None:
            rebuilt[box.y0 : box.y0 + box.alpha.shape[0], box.x0 : box.x0 + box.alpha.shape[1]] = box.alpha
        np.testing.assert_array_equal(rebuilt, full)
        np.testing.assert_array_equal(read_box(mask, (0, 0, 300, 200)), full)


def test_painting_into_the_raw_image_marks_the_whole_mask(qapp) -> None:  # type: ignore[no-untyped-def]
    mask = MaskItem(64, 48)
    mask.image().fill(0xFF000000)  # somebody painted without saying where
    assert mask.painted_rect() == QRect(0, 0, 64, 48) and not mask.is_empty()
    mask.clear_all()
    assert mask.painted_rect().isEmpty() and not _full(mask).any()
