"""The inpaint task: fill the masked area, composite only inside the (feathered) mask."""

from __future__ import annotations

import numpy as np

from gptstudio.core.device import seed_everything
from gptstudio.core.errors import InvalidRequestError, MaskError
from gptstudio.core.masks import check_mask_size, composite, dilate, feather
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import InpaintEngine
from gptstudio.tasks.common import base_params, check_range, resolve_engine, timed
from gptstudio.tasks.requests import InpaintRequest, TaskResult


def inpaint(request: InpaintRequest, state: TaskState) -> TaskResult:
    if request.mask is None:
        raise MaskError("Inpainting needs a mask: paint the area to fill (white = fill).")
    mask = np.asarray(request.mask, dtype=np.float32)
    check_mask_size(mask, request.image.size)
    if float(mask.max(initial=0.0)) <= 0.0:
        raise MaskError("The mask is empty: paint the area to fill first.")
    check_range("Strength", request.strength, 0.0, 1.0)
    check_range("Feather", request.feather, 0.0, 256.0)
    if request.steps < 1:
        raise InvalidRequestError("Steps must be at least 1.")
    engine, info, device = resolve_engine("inpaint", request.model, request.device)
    if not isinstance(engine, InpaintEngine):
        raise InvalidRequestError(f"The model '{info.id}' cannot inpaint.")
    seed = seed_everything(request.seed)
    hole = dilate((mask > 0.5).astype(np.float32), request.grow)
    with timed() as t:
        filled = engine.inpaint(
            request.image.rgb,
            hole,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            seed=seed,
            steps=request.steps,
            guidance=request.guidance,
            strength=request.strength,
            state=state,
        )
        blend = np.maximum(feather(hole, request.feather), hole * (mask > 0.5))
        rgb = composite(request.image.rgb, filled, blend)
    params = base_params("inpaint", info, device, seed=seed)
    for key in ("prompt", "negative_prompt", "steps", "guidance", "strength"):
        if key in info.uses:
            params[key] = getattr(request, key)
    state.report(1.0, "Done")
    return TaskResult(image=request.image.with_rgb(rgb), params=params, seconds=t[0])
