"""The upscale task: any factor from a model's native one, finished by an exact Lanczos resize.

A learned upscaler has one factor (×2, ×4). For the factor the user asks for, the model runs as
many times as its factor fits into it (×16 with a ×4 model: twice; ×8 with ×4: once), then Lanczos
brings the result to exactly ``round(W × factor) × round(H × factor)``; a factor below the model's
(×3 with a ×4 model) runs it once and shrinks, which keeps the model's detail. Repeating the model
rather than stretching one pass with Lanczos is what upscaling tools commonly do: each pass adds
detail where an interpolation only blurs. An engine that resamples to any size itself (the
classical Lanczos, ``info.scale == 1``) is asked for the exact size in one step.

Alpha is enlarged with Lanczos too (not the bilinear fallback of ``ImageData.with_rgb``), and the
image keeps its bit depth and metadata. Sizes are checked against the image-size limit before any
work, so a ×16 of a big photo is refused with a clear message instead of exhausting memory.
"""

from __future__ import annotations

import math

import numpy as np

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.limits import describe_pixels, get_max_megapixels, suggested_limit
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import UpscaleEngine
from gptstudio.engines.classical.lanczos import resize
from gptstudio.tasks.common import base_params, check_tile, resolve_engine, timed, with_oom_fallback
from gptstudio.tasks.masked import blend_mask, mask_params, through_mask
from gptstudio.tasks.requests import TaskResult, UpscaleRequest

MAX_FACTOR = 16.0


def model_passes(factor: float, native: int) -> int:
    """How many times a ×``native`` model runs for ``factor`` (0 for an any-factor engine)."""
    if native <= 1:
        return 0
    return max(1, math.floor(math.log(factor) / math.log(native) + 1e-9))


def output_size(width: int, height: int, factor: float) -> tuple[int, int]:
    return max(1, round(width * factor)), max(1, round(height * factor))


def check_factor(factor: float) -> None:
    if not math.isfinite(factor) or not 1.0 < factor <= MAX_FACTOR:
        raise InvalidRequestError(
            f"The upscale factor must be above 1 and at most {MAX_FACTOR:g}, not {factor:g}."
        )


def _check_pixels(width: int, height: int, limit_mp: float, what: str) -> None:
    if width * height > limit_mp * 1e6:
        raise InvalidRequestError(
            f"{what} would be {width}×{height} ({describe_pixels(width * height)}), above the "
            f"image-size limit of {describe_pixels(limit_mp * 1e6)}. Choose a smaller factor, or raise "
            f"the limit with --max-megapixels {suggested_limit(width * height)}."
        )


def upscale(request: UpscaleRequest, state: TaskState) -> TaskResult:
    factor = float(request.scale)
    check_factor(factor)
    check_tile(request.tile)
    image = request.image
    width, height = output_size(image.width, image.height, factor)
    limit = request.max_megapixels or get_max_megapixels()
    _check_pixels(width, height, limit, f"The result of ×{factor:g}")
    # a mask keeps the model's result inside it (feathered) and a Lanczos enlargement outside
    blend = None if request.mask is None else blend_mask(request.mask, image.size, request.feather)
    engine, info, device = resolve_engine("upscale", request.model, request.device)
    if not isinstance(engine, UpscaleEngine):
        raise InvalidRequestError(f"The model '{info.id}' cannot upscale.")
    passes = model_passes(factor, info.scale)
    if passes:
        largest = info.scale**passes
        _check_pixels(
            image.width * largest, image.height * largest, limit, f"This ×{info.scale} model's own result"
        )
    state.report(0.0, f"Running {info.name}")
    tiles: list[int] = []
    with timed() as t:
        if not passes:
            rgb = with_oom_fallback(
                lambda tile: engine.upscale_to(image.rgb, width, height, state=state, tile=tile),
                request.tile,
                info.tile,
                tiles,
            )
        else:
            rgb = image.rgb
            for i in range(passes):
                state.check()
                sub = state.sub(0.95 * i / passes, 0.95 * (i + 1) / passes)
                rgb = with_oom_fallback(
                    lambda tile, x=rgb, sub=sub: engine.upscale(x, state=sub, tile=tile),
                    request.tile,
                    info.tile,
                    tiles,
                )
            if rgb.shape[:2] != (height, width):
                state.report(0.95, "Resizing to the exact size (Lanczos)")
                rgb = resize(rgb, width, height)
        alpha = None if image.alpha is None else resize(image.alpha, width, height)
        if blend is not None:
            state.report(0.97, "Keeping the result inside the mask")
            outside = resize(image.rgb, width, height)
            rgb = through_mask(outside, rgb, np.clip(resize(blend, width, height), 0.0, 1.0))
    params = base_params(
        "upscale",
        info,
        device,
        scale=round(factor, 4),
        tile=tiles[-1] if tiles else 0,
        model_scale=info.scale,
        model_passes=passes,
        width=width,
        height=height,
    )
    if blend is not None:
        params.update(mask_params(request.feather, None))
    state.report(1.0, "Done")
    return TaskResult(image=image.with_rgb(rgb, alpha=alpha), params=params, seconds=t[0])
