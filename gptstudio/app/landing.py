"""How a result becomes an edit of the document as it is when the result lands. Qt-free.

A job is computed from the image as it was when the user pressed Run; other results may land, or
be undone, while it waits in the queue. So a result says which pixels it changed: an inpaint
changes a region (the bounding box of the pixels that differ from its input, which lie under the
grown and feathered mask), a whole-image task (denoise, restore, upscale) changes everything. The
jobs controller then either lands it as is (the input is still the document's image), applies
only the changed pixels onto the current image (a region result), or re-runs a whole-image task
on the current image — never silently overwriting a newer edit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gptstudio.core.imageio import ImageData
from gptstudio.core.masks import nonzero_box


@dataclass(frozen=True)
class Region:
    """The pixels a result changed: a box (x0, y0, x1, y1, end-exclusive) and which pixels in it."""

    x0: int
    y0: int
    x1: int
    y1: int
    #: ``(y1 - y0) × (x1 - x0)`` booleans: True where the result differs from its input.
    changed: np.ndarray

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0


def changed_region(before: ImageData, after: ImageData) -> Region:
    """The box around every pixel ``after`` changed relative to ``before`` (same size).

    Runs in the worker thread, so the GUI thread never scans a whole 24-MP image.
    """
    h = before.rgb.shape[0]
    diff = np.empty(before.rgb.shape[:2], bool)
    for y in range(0, h, 256):  # in bands: a 72 MB boolean temporary on 24 MP becomes 4 MB
        rows = slice(y, min(y + 256, h))
        np.any(before.rgb[rows] != after.rgb[rows], axis=2, out=diff[rows])
        if before.alpha is not None and after.alpha is not None:
            diff[rows] |= before.alpha[rows] != after.alpha[rows]
    found = nonzero_box(diff)
    if found is None:
        return Region(0, 0, 0, 0, np.zeros((0, 0), bool))
    y0, y1, x0, x1 = found
    return Region(x0, y0, x1, y1, np.ascontiguousarray(diff[y0:y1, x0:x1]))


def apply_region(current: ImageData, result: ImageData, region: Region) -> ImageData:
    """``current`` with the pixels ``region`` marks taken from ``result``; everything else,
    including newer edits inside the box that the result did not touch, is kept."""
    if region.empty:
        return current
    box = (slice(region.y0, region.y1), slice(region.x0, region.x1))
    rgb = current.rgb.copy()
    rgb[box][region.changed] = result.rgb[box][region.changed]
    alpha = current.alpha
    if alpha is not None and result.alpha is not None:
        alpha = alpha.copy()
        alpha[box][region.changed] = result.alpha[box][region.changed]
    return replace(current, rgb=rgb, alpha=alpha)
