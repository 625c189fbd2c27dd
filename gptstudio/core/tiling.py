"""Overlapping tiles with smooth blending, honouring a model's size requirements.

A network sees the image in tiles no larger than ``tile`` pixels, each padded (by reflection) to
the model's minimum size and multiple-of constraint. Neighbouring tiles overlap and are blended
with a raised-cosine weight so seams vanish; a per-pixel model gives the same answer tiled and
untiled. Only the output canvas and one tile live in memory, so a 24-megapixel photo stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gptstudio.core.progress import TaskState


@dataclass(frozen=True)
class SizeRequirements:
    """What input sizes a model accepts (after spandrel's ``SizeRequirements``)."""

    minimum: int = 1
    multiple_of: int = 1
    square: bool = False

    def padded(self, height: int, width: int) -> tuple[int, int]:
        """The smallest (height, width) at least as big as given that the model accepts."""
        h = max(height, self.minimum)
        w = max(width, self.minimum)
        m = max(self.multiple_of, 1)
        h = math.ceil(h / m) * m
        w = math.ceil(w / m) * m
        if self.square:
            h = w = max(h, w)
        return h, w


def pad_to(image: np.ndarray, height: int, width: int, top: int = 0, left: int = 0) -> np.ndarray:
    """Reflect-pad an ``H×W×C`` array to ``height×width``: ``top`` rows and ``left`` columns before
    it, the rest after (symmetric, then edge padding, when too small to reflect)."""
    h, w = image.shape[:2]
    bottom, right = height - h - top, width - w - left
    if not (top or left or bottom or right):
        return image
    pad = [(top, bottom), (left, right)] + [(0, 0)] * (image.ndim - 2)
    ys, xs = max(top, bottom), max(left, right)
    mode = "reflect" if ys < h and xs < w else "symmetric"
    if ys >= 2 * h or xs >= 2 * w:
        mode = "edge"
    return np.pad(image, pad, mode=mode)


def apply_padded(
    image: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], req: SizeRequirements, scale: int = 1
) -> np.ndarray:
    """Run ``fn`` on the image padded to the model's requirements and crop the answer back."""
    h, w = image.shape[:2]
    ph, pw = req.padded(h, w)
    out = fn(pad_to(image, ph, pw))
    return out[: h * scale, : w * scale]


#: Longest side of the live-preview image sent while tiles are processed.
PREVIEW_SIZE = 512


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = max(tile - overlap, 1)
    n = math.ceil((length - tile) / stride) + 1
    starts = [min(i * stride, length - tile) for i in range(n)]
    return sorted(set(starts))


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    """1-D blending weight: raised cosine over ``overlap`` pixels at inner edges, 1 elsewhere."""
    w = np.ones(length, dtype=np.float32)
    o = min(overlap, length // 2)
    if o > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(o, dtype=np.float32) + 0.5) / o)
        if not at_start:
            w[:o] = ramp
        if not at_end:
            w[-o:] = np.minimum(w[-o:], ramp[::-1])
    return w


def tiled_apply(
    image: np.ndarray,
    fn: Callable[[np.ndarray], np.ndarray],
    *,
    tile: int = 512,
    overlap: int = 32,
    req: SizeRequirements | None = None,
    scale: int = 1,
    out_channels: int | None = None,
    state: TaskState | None = None,
) -> np.ndarray:
    """Apply ``fn`` (``h×w×C`` float32 -> ``h*scale×w*scale×C'``) over overlapping tiles.

    ``state`` receives progress per tile and is the cancellation point between tiles.
    """
    req = req or SizeRequirements()
    h, w = image.shape[:2]
    c_out = out_channels or image.shape[2]
    if tile <= 0 or (h <= tile and w <= tile):
        if state is not None:
            state.report(0.0, "Processing")
        out = apply_padded(image, fn, req, scale)
        if state is not None:
            state.report(1.0, "Done")
        return out.astype(np.float32, copy=False)
    tile = max(tile, req.minimum, 2 * overlap + 1)
    # The tiles form a grid and each tile's weight is a row ramp times a column ramp, so the
    # summed weights are separable too: two 1-D arrays instead of a full-size weight image keep
    # the extra memory to the output canvas plus one tile (24 MP: ~290 MB, not ~500 MB).
    rows = _grid(h, tile, overlap, scale)
    cols = _grid(w, tile, overlap, scale)
    row_total = np.zeros(h * scale, dtype=np.float32)
    col_total = np.zeros(w * scale, dtype=np.float32)
    for y0, y1, wy in rows:
        row_total[y0 * scale : y1 * scale] += wy
    for x0, x1, wx in cols:
        col_total[x0 * scale : x1 * scale] += wx
    acc = np.zeros((h * scale, w * scale, c_out), dtype=np.float32)
    preview = _Preview(image, state, scale) if c_out == image.shape[2] else None
    count = len(rows) * len(cols)
    i = 0
    for y0, y1, wy in rows:
        for x0, x1, wx in cols:
            if state is not None:
                state.report(i / count, f"Tile {i + 1} of {count}")
            i += 1
            patch = apply_padded(np.ascontiguousarray(image[y0:y1, x0:x1]), fn, req, scale)
            # Not in place: a model may hand back its input, which can be a view of the caller's image.
            weight = (wy[:, None] * wx[None, :])[:, :, None]
            acc[y0 * scale : y1 * scale, x0 * scale : x1 * scale] += patch * weight
            if preview is not None:
                preview.paste(patch, y0, x0)
    if state is not None:
        state.report(1.0, "Done")
    acc /= row_total[:, None, None]
    acc /= col_total[None, :, None]
    return acc


class _Preview:
    """A small copy of the image on which finished tiles appear, for the GUI's live preview.

    It is sampled every ``step`` pixels (longest side about ``PREVIEW_SIZE``), so keeping and
    sending it costs a few hundred kilobytes whatever the photo's size. An upscaler's tiles
    (``scale`` > 1) are sampled every ``step * scale`` output pixels onto the same small canvas.
    """

    def __init__(self, image: np.ndarray, state: TaskState | None, scale: int = 1) -> None:
        self.state = state
        self.scale = scale
        h, w = image.shape[:2]
        self.step = max(1, math.ceil(max(h, w) / PREVIEW_SIZE))
        self.canvas = np.array(image[:: self.step, :: self.step], dtype=np.float32)

    def paste(self, patch: np.ndarray, y0: int, x0: int) -> None:
        if self.state is None or self.state.preview is None:
            return
        s, k = self.step, self.scale
        ry, rx = -(-y0 // s), -(-x0 // s)  # first sampled row/column inside the tile
        sampled = patch[(ry * s - y0) * k :: s * k, (rx * s - x0) * k :: s * k]
        self.canvas[ry : ry + sampled.shape[0], rx : rx + sampled.shape[1]] = sampled
        self.state.show_preview(self.canvas.copy())


def _grid(length: int, tile: int, overlap: int, scale: int) -> list[tuple[int, int, np.ndarray]]:
    """(start, end, blending ramp at output scale) for each tile position along one axis."""
    out = []
    for start in _starts(length, tile, overlap):
        end = min(start + tile, length)
        out.append((start, end, _ramp((end - start) * scale, overlap * scale, start == 0, end == length)))
    return out
