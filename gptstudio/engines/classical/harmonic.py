"""The harmonic (membrane) fill: inside a hole, the smoothest surface that meets the rim.

Each filled pixel is the average of its four neighbours (Laplace's equation with the known pixels
as the boundary), which reproduces any linear ramp exactly: a hole in a clear sky, a studio
backdrop or a vignette comes back with no trace. OpenCV's Telea and Navier–Stokes fills propagate
the rim inward along lines and leave a cross-shaped seam in such a ramp, and OpenCV has no Laplace
solver for an arbitrary mask (``seamlessClone`` solves Poisson's equation on a rectangle and drops
a frame at the picture's border), so it is solved here: coarse to fine on a pyramid of the picture,
multigrid V-cycles (Jacobi sweeps, the rest of the error solved on grids half the size).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["harmonic_fill"]

#: Jacobi sweeps per level (of the first guess, and before and after each coarse-grid correction),
#: and the multigrid V-cycles run from the first guess: a colour ramp comes back within 0.2 levels
#: on average, and photos' fills are within 0.06 levels of a solve run to convergence, in about
#: 0.1 s for a 512² window (2-core CPU).
SWEEPS = 4
CYCLES = 3
#: The coarsest level's shorter side (pixels), solved by plain sweeps.
COARSEST = 4
COARSE_SWEEPS = 50
_KERNEL = np.array([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]], np.float32)


def _mean(u: np.ndarray) -> np.ndarray:
    """Each pixel's four-neighbour average (the picture's border mirrored: no flow across it)."""
    return cv2.filter2D(u, -1, _KERNEL, borderType=cv2.BORDER_REPLICATE).reshape(u.shape)


def _halve(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``a`` (H×W×C) averaged down to ``size`` (width, height), keeping its channel axis."""
    return cv2.resize(a, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)


def _double(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``a`` brought back up, bilinearly, to ``like``'s shape."""
    return cv2.resize(a, (like.shape[1], like.shape[0]), interpolation=cv2.INTER_LINEAR).reshape(like.shape)


def _correction(residual: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``e`` with ``e - mean(e) = residual`` inside ``hole`` and 0 elsewhere: a multigrid V-cycle
    (Jacobi sweeps, the rest solved on a grid half the size, sweeps again)."""
    h, w = hole.shape[:2]
    e = np.zeros_like(residual)
    coarsest = min(h, w) <= COARSEST
    if coarsest and hole.all():
        return e
    for _ in range(COARSE_SWEEPS if coarsest else SWEEPS):
        e = np.where(hole, _mean(e) + residual, 0.0)
    if coarsest:
        return e
    left = np.where(hole, residual - (e - _mean(e)), 0.0)
    size = ((w + 1) // 2, (h + 1) // 2)
    # Only a coarse cell wholly in the hole is unknown; the rest anchor the correction at 0. (Also
    # counting partly covered cells makes the coarse hole larger than the fine one, its correction
    # too large, and the cycles run away.)
    coarse_hole = _halve(hole.astype(np.float32), size) > 0.999
    if not coarse_hole.any() or coarse_hole.all():
        return e.astype(np.float32, copy=False)
    # The coarse grid's spacing is twice the fine one's, so its equation carries 4× the residual.
    coarse = _correction((4.0 * _halve(left, size)).astype(np.float32), coarse_hole)
    e = e + np.where(hole, _double(coarse, e), 0.0)
    for _ in range(SWEEPS):
        e = np.where(hole, _mean(e) + residual, 0.0)
    return e.astype(np.float32, copy=False)


def _start(known: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A first guess: the known pixels averaged down a pyramid until the hole closes, then brought
    back up level by level with a few sweeps each (right in the broad shading, which plain sweeps
    take longest to find)."""
    h, w = hole.shape[:2]
    seen = known[~hole[..., 0]]
    if min(h, w) <= COARSEST or not len(seen):
        mean = seen.mean(axis=0) if len(seen) else np.full(known.shape[2], 0.5, np.float32)
        return np.where(hole, mean.astype(np.float32), known)
    size = ((w + 1) // 2, (h + 1) // 2)
    weight = (~hole).astype(np.float32)
    area, total = _halve(weight, size), _halve(known * weight, size)
    coarse = _start((total / np.maximum(area, 1e-6)).astype(np.float32), area < 1e-6)
    u = np.where(hole, _double(coarse, known), known)
    for _ in range(SWEEPS):
        u = np.where(hole, _mean(u), known)
    return u


def _solve(known: np.ndarray, hole: np.ndarray) -> np.ndarray:
    u = _start(known, hole)
    for _ in range(CYCLES):
        u = u + _correction(np.where(hole, _mean(u) - u, 0.0).astype(np.float32), hole)
    return u


def harmonic_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` (H×W×C float) with the pixels where ``hole`` > 0.5 replaced by the harmonic
    interpolation of the others. Only the hole's bounding box (and a one-pixel rim) is solved."""
    inside = np.asarray(hole) > 0.5
    out = np.array(image, dtype=np.float32, copy=True)
    if not inside.any() or inside.all():
        return out
    ys, xs = np.nonzero(inside)
    y0, y1 = max(0, ys.min() - 1), min(inside.shape[0], ys.max() + 2)
    x0, x1 = max(0, xs.min() - 1), min(inside.shape[1], xs.max() + 2)
    box = out[y0:y1, x0:x1]
    flat = box.reshape(box.shape[0], box.shape[1], -1)
    solved = _solve(flat, inside[y0:y1, x0:x1, None])
    out[y0:y1, x0:x1] = solved.reshape(box.shape)
    return out
