"""The inpaint task: fill the masked area, composite only inside the (feathered) mask.

With ``mask_from_alpha`` the hole is the image's transparent area and the filled pixels become
opaque: filling the colour under a hole but leaving its alpha at 0 would still show the hole.
The parameters record everything that changes the result (feather, grow, whether the hole came
from alpha, and the sampling settings the model uses) so "Reuse parameters" repeats the job.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gptstudio.core.device import seed_everything
from gptstudio.core.errors import InvalidRequestError, MaskError
from gptstudio.core.masks import check_mask_size, composite, dilate, feather, mask_from_alpha
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import InpaintEngine
from gptstudio.tasks.common import base_params, check_range, resolve_engine, timed
from gptstudio.tasks.masked import Box
from gptstudio.tasks.native_size import CONTEXT, mask_window, working_size
from gptstudio.tasks.requests import InpaintRequest, TaskResult


def _hole(request: InpaintRequest) -> np.ndarray:
    """The area to fill (float H×W, 1 = fill): the mask, the transparent area, or both."""
    mask = None if request.mask is None else np.asarray(request.mask, dtype=np.float32)
    if mask is not None:
        check_mask_size(mask, request.image.size)
    if request.mask_from_alpha:
        transparent = mask_from_alpha(request.image)
        mask = transparent if mask is None else np.maximum(mask, transparent)
    if mask is None:
        raise MaskError("Inpainting needs a mask: paint the area to fill (white = fill).")
    if float(mask.max(initial=0.0)) <= 0.0:
        if request.mask_from_alpha:
            raise MaskError("The image has no transparent pixels to fill.")
        raise MaskError("The mask is empty: paint the area to fill first.")
    return mask


def inpaint(request: InpaintRequest, state: TaskState) -> TaskResult:
    mask = _hole(request)
    check_range("Strength", request.strength, 0.0, 1.0)
    check_range("Feather", request.feather, 0.0, 256.0)
    check_range("Grow", request.grow, 0, 256)
    if request.steps < 1:
        raise InvalidRequestError("Steps must be at least 1.")
    engine, info, device = resolve_engine("inpaint", request.model, request.device)
    if not isinstance(engine, InpaintEngine):
        raise InvalidRequestError(f"The model '{info.id}' cannot inpaint.")
    seed = seed_everything(request.seed)
    image = request.image
    hole = dilate((mask > 0.5).astype(np.float32), request.grow)
    sampling = dict(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        seed=seed,
        steps=request.steps,
        guidance=request.guidance,
        strength=request.strength,
        state=state,
    )
    window: Box | None = None
    with timed() as t:
        if info.native > 0:  # a generative model: a window around the mask near its native size
            window = mask_window(hole, info.native, max(CONTEXT, int(2 * request.feather)))
            multiple = info.size.multiple_of
            filled = _inpaint_window(engine, image.rgb, hole, window, info.native, multiple, sampling)
        else:
            filled = engine.inpaint(image.rgb, hole, **sampling)
        blend = feather(hole, request.feather)
        np.maximum(blend, hole * (mask > 0.5), out=blend)
        # the engine's fresh output takes the blend in place (one 24-MP float image less)
        owned = (
            isinstance(filled, np.ndarray) and filled.dtype == np.float32 and filled.flags.writeable
            and filled.shape == image.rgb.shape and not np.may_share_memory(filled, image.rgb)
        )  # fmt: skip
        rgb = composite(image.rgb, filled, blend, out=filled if owned else None)
    alpha = image.alpha
    if request.mask_from_alpha and alpha is not None:
        alpha = np.clip(alpha + blend * (1.0 - alpha), 0.0, 1.0).astype(np.float32)  # filled = opaque
    params = base_params(
        "inpaint",
        info,
        device,
        seed=seed,
        feather=round(float(request.feather), 4),
        grow=int(request.grow),
        mask_from_alpha=bool(request.mask_from_alpha),
    )
    for key in ("prompt", "negative_prompt", "steps", "guidance", "strength"):
        if key in info.uses:
            params[key] = getattr(request, key)
    if window is not None:
        params["model_box"] = [window.x0, window.y0, window.x1, window.y1]
    state.report(1.0, "Done")
    return TaskResult(image=image.with_rgb(rgb, alpha=alpha), params=params, seconds=t[0])


def _inpaint_window(
    engine: InpaintEngine,
    rgb: np.ndarray,
    hole: np.ndarray,
    window: Box,
    native: int,
    multiple: int,
    sampling: dict[str, Any],
) -> np.ndarray:
    """Run the engine on ``window`` scaled to its working size; the full image with the window's
    result pasted back (the caller composites through the feathered mask)."""
    import cv2

    from gptstudio.engines.classical.lanczos import resize

    crop, crop_hole = np.ascontiguousarray(rgb[window.slices]), np.ascontiguousarray(hole[window.slices])
    h, w = crop.shape[:2]
    run_w, run_h = working_size(w, h, native, multiple)
    if (run_w, run_h) != (w, h):
        crop = resize(crop, run_w, run_h)
        small = cv2.resize(crop_hole, (run_w, run_h), interpolation=cv2.INTER_LINEAR)
        crop_hole = (small > 0.5).astype(np.float32)
    out = engine.inpaint(crop, crop_hole, **sampling)
    if out.shape[:2] != (h, w):
        out = resize(out, w, h)
    filled = rgb.copy()
    filled[window.slices] = out
    return filled
