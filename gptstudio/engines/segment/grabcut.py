"""Select an object with OpenCV's GrabCut: offline, no weights, a box and optional clicks.

GrabCut's cost grows with the pixels it labels (a graph cut per iteration), so on a 24-MP photo
it never sees full resolution: the box plus a margin is cut out and shrunk to at most
:data:`WORK_SIDE` pixels on its long side, GrabCut labels that, and the answer is enlarged back
with a guided filter steered by the full-resolution photo (:func:`~gptstudio.core.selection.
refine_upsampled`), so the edge follows the object's real outline instead of the small copy's
stair steps. One click costs about the same on a thumbnail as on a 24-MP photo.
"""

from __future__ import annotations

import cv2
import numpy as np

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.progress import TaskState
from gptstudio.core.selection import Patch, refine_upsampled, trimmed
from gptstudio.engines.segment import ObjectPrompt

#: Long side, in pixels, of the copy GrabCut labels.
WORK_SIDE = 640
ITERATIONS = 5
#: Levels (of 255, per channel, against the clicked colour) a click spreads over; see _mark_click.
CLICK_TOLERANCE = 12


def _crop_box(prompt: ObjectPrompt, width: int, height: int) -> tuple[int, int, int, int]:
    """The box plus a margin of a tenth of its size (GrabCut learns the background colours
    there), grown to hold every click."""
    assert prompt.box is not None
    x0, y0, x1, y1 = prompt.box
    for x, y in (*prompt.positive, *prompt.negative):
        x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x + 1), max(y1, y + 1)
    mx, my = max(8.0, 0.1 * (x1 - x0)), max(8.0, 0.1 * (y1 - y0))
    return (
        int(max(0, np.floor(x0 - mx))),
        int(max(0, np.floor(y0 - my))),
        int(min(width, np.ceil(x1 + mx))),
        int(min(height, np.ceil(y1 + my))),
    )


def _mark_click(small: np.ndarray, labels: np.ndarray, at: tuple[int, int], radius: int, label: int) -> None:
    """Label a click and the patch of like colour around it (within :data:`CLICK_TOLERANCE`).

    Why more than the dot: GrabCut learns colours from the labelled pixels, and a dot of a few
    dozen pixels weighs nothing against a box of thousands, so a negative click on a differently
    coloured part inside the box changed nothing. People click on a *region* ("not this"), so
    the connected area of that colour is what they mean.
    """
    h, w = labels.shape
    x, y = min(max(at[0], 0), w - 1), min(max(at[1], 0), h - 1)
    region = np.zeros((h + 2, w + 2), np.uint8)
    t = (CLICK_TOLERANCE,) * 3
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    cv2.floodFill(small, region, (x, y), (0, 0, 0), t, t, flags)
    labels[region[1:-1, 1:-1] > 0] = label
    cv2.circle(labels, (x, y), radius, label, -1)


def grabcut_select(
    rgb8: np.ndarray,
    prompt: ObjectPrompt,
    grey: np.ndarray | None = None,
    *,
    iterations: int = ITERATIONS,
    state: TaskState | None = None,
) -> Patch:
    """The object inside ``prompt.box`` as a uint8 patch of the full image.

    ``rgb8`` is the whole photo as uint8 ``H×W×3``; ``grey`` (float ``H×W`` in [0, 1]) may be
    passed when the caller keeps one for many clicks. Positive clicks are forced into the object,
    negative ones out of it, each with the patch of like colour around it.
    """
    state = state or TaskState()
    h, w = rgb8.shape[:2]
    prompt = prompt.clipped(w, h)
    if prompt.box is None:
        raise InvalidRequestError("GrabCut needs a box: drag a rectangle around the object first.")
    cx0, cy0, cx1, cy1 = _crop_box(prompt, w, h)
    crop = rgb8[cy0:cy1, cx0:cx1]
    scale = min(1.0, WORK_SIDE / max(crop.shape[:2]))
    sw, sh = max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))
    small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1.0 else crop.copy()
    sx, sy = sw / crop.shape[1], sh / crop.shape[0]

    labels = np.full((sh, sw), cv2.GC_BGD, np.uint8)
    bx0, by0, bx1, by1 = prompt.box
    r0, r1 = int((by0 - cy0) * sy), max(int(np.ceil((by1 - cy0) * sy)), int((by0 - cy0) * sy) + 1)
    c0, c1 = int((bx0 - cx0) * sx), max(int(np.ceil((bx1 - cx0) * sx)), int((bx0 - cx0) * sx) + 1)
    labels[r0:r1, c0:c1] = cv2.GC_PR_FGD
    radius = max(3, round(0.015 * max(sw, sh)))
    for points, label in ((prompt.positive, cv2.GC_FGD), (prompt.negative, cv2.GC_BGD)):
        for x, y in points:
            _mark_click(small, labels, (int((x - cx0) * sx), int((y - cy0) * sy)), radius, int(label))
    if not (labels == cv2.GC_PR_FGD).any() and not (labels == cv2.GC_FGD).any():
        return Patch(0, 0, np.zeros((0, 0), np.uint8))
    state.check()
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(small, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        # GrabCut refuses when one side has no pixels to learn from (a box over the whole image
        # with no margin): nothing can be told apart, so everything in the box is the object.
        labels[labels == cv2.GC_PR_BGD] = cv2.GC_PR_FGD
    state.check()
    soft = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    if grey is None:
        guide = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    else:
        guide = grey[cy0:cy1, cx0:cx1]
    alpha = refine_upsampled(soft, guide, radius=max(2, round(1.5 / scale)))
    # the refinement smooths; what the person clicked stays as they said
    for points, value in ((prompt.positive, 255), (prompt.negative, 0)):
        for x, y in points:
            cv2.circle(alpha, (int(x - cx0), int(y - cy0)), max(1, round(radius / scale)), value, -1)
    return trimmed(alpha, cx0, cy0)
