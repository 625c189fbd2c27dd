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
from gptstudio.core.imagedata import ImageData
from gptstudio.core.masks import check_mask_size, composite, dilate, feather, mask_from_alpha, nonzero_box
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import pad_to
from gptstudio.engines.base import InpaintEngine
from gptstudio.tasks.common import base_params, check_range, resolve_engine, timed
from gptstudio.tasks.inpaint_seam import UPSAMPLED, match_seam_colour, restore_detail
from gptstudio.tasks.masked import Box
from gptstudio.tasks.native_size import CONTEXT, mask_window, reduced_hole, working_size
from gptstudio.tasks.outpaint import check_extend, extend_canvas
from gptstudio.tasks.requests import InpaintRequest, TaskResult


def _hole(request: InpaintRequest) -> tuple[ImageData, np.ndarray]:
    """The image to work on (on its extended canvas for an outpaint) and the area to fill (float
    H×W, 1 = fill): the mask, the transparent area, the new border, or all of them."""
    image = request.image
    mask = None if request.mask is None else np.asarray(request.mask, dtype=np.float32)
    if mask is not None:
        check_mask_size(mask, image.size)
    if request.mask_from_alpha:
        transparent = mask_from_alpha(image)
        mask = transparent if mask is None else np.maximum(mask, transparent)
    if any(check_extend(request.extend)):
        image, mask = extend_canvas(image, *request.extend, mask=mask)
    if mask is None:
        raise MaskError("Inpainting needs a mask: paint the area to fill (white = fill).")
    if float(mask.max(initial=0.0)) <= 0.0:
        if request.mask_from_alpha:
            raise MaskError("The image has no transparent pixels to fill.")
        raise MaskError("The mask is empty: paint the area to fill first.")
    return image, mask


def inpaint(request: InpaintRequest, state: TaskState) -> TaskResult:
    image, mask = _hole(request)
    check_range("Strength", request.strength, 0.0, 1.0)
    check_range("Feather", request.feather, 0.0, 256.0)
    check_range("Grow", request.grow, 0, 256)
    if request.steps < 1:
        raise InvalidRequestError("Steps must be at least 1.")
    engine, info, device = resolve_engine("inpaint", request.model, request.device)
    if not isinstance(engine, InpaintEngine):
        raise InvalidRequestError(f"The model '{info.id}' cannot inpaint.")
    seed = seed_everything(request.seed)
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
            window = mask_window(hole, info.native, _context(hole, request.feather))
            multiple = info.size.multiple_of
            filled = _inpaint_window(engine, image.rgb, hole, window, info.native, multiple, sampling, device)
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
    if any(request.extend):
        params["extend"] = [int(v) for v in request.extend]
    for key in ("prompt", "negative_prompt", "steps", "guidance", "strength"):
        if key in info.uses:
            params[key] = getattr(request, key)
    if window is not None:
        params["model_box"] = [window.x0, window.y0, window.x1, window.y1]
    state.report(1.0, "Done")
    return TaskResult(image=image.with_rgb(rgb, alpha=alpha), params=params, seconds=t[0])


def _context(hole: np.ndarray, feather: float) -> int:
    """Pixels of surroundings around the mask's box: at least half the hole's longer side, so a
    large hole is filled from a view of what is around it, not from a thin frame."""
    found = nonzero_box(hole)
    extent = 0 if found is None else max(found[1] - found[0], found[3] - found[2])
    return max(CONTEXT, int(2 * feather), extent // 2)


def _inpaint_window(
    engine: InpaintEngine,
    rgb: np.ndarray,
    hole: np.ndarray,
    window: Box,
    native: int,
    multiple: int,
    sampling: dict[str, Any],
    device: str = "cpu",
) -> np.ndarray:
    """Run the engine on ``window`` (padded to the model's multiple, or scaled down to its working
    size when larger), match the seam's colour, restore detail if the window was scaled down; the
    full image with the window's result pasted back (the caller composites through the feathered
    mask). Nothing under the hole reaches the model: a padded hole is mirrored with the picture,
    and a scaled-down hole covers every pixel the resampling drew from it."""
    from gptstudio.engines.classical.lanczos import resize

    crop, crop_hole = np.ascontiguousarray(rgb[window.slices]), np.ascontiguousarray(hole[window.slices])
    h, w = crop.shape[:2]
    if w * h <= native * native:  # fits: padded to the model's multiple, never resampled
        ph, pw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
        # The hole is padded by the picture's rule, or a mirrored piece of the object the user
        # wants gone would be given to the model as a known pixel.
        crop, crop_hole = pad_to(crop, ph, pw), pad_to(crop_hole[..., None], ph, pw)[..., 0]
        out = match_seam_colour(crop, engine.inpaint(crop, crop_hole, **sampling), crop_hole)[:h, :w]
    else:
        run_w, run_h = working_size(w, h, native, multiple)
        small, small_hole = resize(crop, run_w, run_h), reduced_hole(crop_hole, run_w, run_h)
        out = match_seam_colour(small, engine.inpaint(small, small_hole, **sampling), small_hole)
        out = resize(out, w, h)
        if w / run_w >= UPSAMPLED:  # filled at a reduced scale: bring back detail and grain
            seed, state = sampling["seed"], sampling["state"]
            out = restore_detail(crop, out, crop_hole, seed, state, device)
    filled = rgb.copy()
    filled[window.slices] = out
    return filled
