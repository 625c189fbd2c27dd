"""The generate task: a picture from a prompt, or a variation of a picture (image-to-image).

A new picture runs at the size asked for, rounded to the model's size multiple (and resized to
exactly that size if the rounding changed it). A variation runs at about the model's native
resolution (:mod:`~gptstudio.tasks.native_size`) and comes back at the size of the picture it
varies, with its alpha and metadata. Steps and guidance left unset take the family's defaults.

The parameters record everything that changes the result — prompt, negative prompt, size, steps,
guidance, seed, strength, whether it was a variation, and the size the model actually ran at — so
"Reuse parameters" and ``request_from_params`` repeat it. On a GPU out of memory, the engine
switches to model CPU offload and tries once more; after that the worker's CPU fallback decides.
"""

from __future__ import annotations

from typing import Any

from gptstudio.core.device import seed_everything
from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.core.imagedata import from_array
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import GenerateEngine
from gptstudio.engines.classical.lanczos import resize
from gptstudio.tasks.common import base_params, check_range, is_out_of_memory, resolve_engine, timed
from gptstudio.tasks.loras import resolve_lora
from gptstudio.tasks.native_size import round_to, working_size
from gptstudio.tasks.requests import GenerateRequest, TaskResult

MAX_EDGE = 4096
MAX_STEPS = 200


def check_generate(request: GenerateRequest) -> None:
    """Validate what can be checked without a model (the CLI and the batch options reuse it)."""
    if not request.prompt.strip():
        raise InvalidRequestError("Write a prompt: what should the picture show?")
    for name, value in (("Width", request.width), ("Height", request.height)):
        if not (16 <= value <= MAX_EDGE):
            raise InvalidRequestError(f"{name} must be between 16 and {MAX_EDGE} pixels, not {value}.")
    if request.steps is not None and not (1 <= request.steps <= MAX_STEPS):
        raise InvalidRequestError(f"Steps must be between 1 and {MAX_STEPS}, not {request.steps}.")
    if request.guidance is not None:
        check_range("Guidance", request.guidance, 0.0, 30.0)
    check_range("Strength", request.strength, 0.0, 1.0)
    check_range("LoRA strength", request.lora_strength, 0.0, 2.0)


def is_variation(request: GenerateRequest) -> bool:
    return request.image is not None and request.strength < 1.0


def call_with_offload_retry(engine: Any, run: Any) -> Any:
    """``run()``; on a GPU out-of-memory error, switch the engine to CPU offload and run once more."""
    try:
        return run()
    except Exception as exc:
        if not is_out_of_memory(exc) or not getattr(engine, "enable_offload", lambda: False)():
            raise
        import sys

        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
        return run()


def generate(request: GenerateRequest, state: TaskState) -> TaskResult:
    check_generate(request)
    engine, info, device = resolve_engine("generate", request.model, request.device)
    if not isinstance(engine, GenerateEngine):
        raise InvalidRequestError(f"The model '{info.id}' cannot generate pictures.")
    variation = is_variation(request)
    if variation and "variation" not in info.uses:
        raise ModelError(
            f"{info.name} makes pictures from a prompt only; it has no image-to-image pipeline for a "
            "variation. Choose a model that can vary a picture, or set the strength to 1 for a new one."
        )
    family = getattr(engine, "family", None)
    steps = request.steps or getattr(family, "default_steps", 20)
    guidance = request.guidance if request.guidance is not None else getattr(family, "default_guidance", 4.0)
    if variation and int(steps * request.strength) < 1:
        raise InvalidRequestError(
            f"With strength {request.strength:g} and {steps} steps no step would run; raise the strength "
            "or the steps (steps × strength must be at least 1)."
        )
    multiple = info.size.multiple_of
    seed = seed_everything(request.seed)
    image = request.image
    if variation:
        assert image is not None
        width, height = image.width, image.height
        run_w, run_h = working_size(width, height, info.native, multiple)
        init = image.rgb if (run_w, run_h) == (width, height) else resize(image.rgb, run_w, run_h)
    else:
        width, height = request.width, request.height
        run_w, run_h = round_to(width, multiple), round_to(height, multiple)
        init = None
    lora = resolve_lora(request.lora, getattr(getattr(engine, "detected", None), "family", None))
    extra: dict[str, Any] = {"lora": (lora[1], request.lora_strength)} if lora else {}
    state.report(0.0, f"Running {info.name}")
    with timed() as t:
        rgb = call_with_offload_retry(
            engine,
            lambda: engine.generate(
                **extra,
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                width=run_w,
                height=run_h,
                seed=seed,
                steps=steps,
                guidance=guidance,
                state=state,
                init=init,
                strength=request.strength if variation else 1.0,
            ),
        )
        if rgb.shape[:2] != (height, width):
            rgb = resize(rgb, width, height)
    params = base_params("generate", info, device, prompt=request.prompt, seed=seed, steps=int(steps))
    params.update(width=width, height=height, variation=variation, model_size=[run_w, run_h])
    if "negative_prompt" in info.uses:
        params["negative_prompt"] = request.negative_prompt
    if "guidance" in info.uses:
        params["guidance"] = round(float(guidance), 4)
    if variation:
        params["strength"] = round(float(request.strength), 4)
    if lora:
        params.update(lora=request.lora, lora_strength=round(float(request.lora_strength), 4))
    placement = getattr(engine, "placement", None)
    if placement is not None:
        params["dtype"] = placement.dtype
        if placement.note:
            params["placement"] = placement.note
    state.report(1.0, "Done")
    out = image.with_rgb(rgb) if variation and image is not None else from_array(rgb)
    return TaskResult(image=out, params=params, seconds=t[0])
