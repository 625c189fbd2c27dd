"""The inpaint task: fill the masked area, composite only inside the (feathered) mask.

With ``mask_from_alpha`` the hole is the image's transparent area and the filled pixels become
opaque: filling the colour under a hole but leaving its alpha at 0 would still show the hole.
The parameters record everything that changes the result (feather, grow, whether the hole came
from alpha, and the sampling settings the model uses) so "Reuse parameters" repeats the job.
"""

from __future__ import annotations

import numpy as np

from gptstudio.core.device import seed_everything
from gptstudio.core.errors import InvalidRequestError, MaskError
from gptstudio.core.masks import check_mask_size, composite, dilate, feather, mask_from_alpha
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import InpaintEngine
from gptstudio.tasks.common import base_params, check_range, resolve_engine, timed
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
    with timed() as t:
        filled = engine.inpaint(
            image.rgb,
            hole,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            seed=seed,
            steps=request.steps,
            guidance=request.guidance,
            strength=request.strength,
            state=state,
        )
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
    state.report(1.0, "Done")
    return TaskResult(image=image.with_rgb(rgb, alpha=alpha), params=params, seconds=t[0])
