"""Pure-data job requests and results (after krita-ai-diffusion): no Qt, no loaded models.

A request is frozen so the GUI can hand it to the worker thread and keep editing safely; it
carries every parameter needed to repeat the job, which also goes into the output PNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.imagedata import ImageData


@dataclass(frozen=True, eq=False)
class _Common:
    image: ImageData
    #: A model id from the registry; None picks the task's default.
    model: str | None = None
    #: 'auto', 'cpu', 'cuda', 'mps' (None = GPTSTUDIO_DEVICE or auto).
    device: str | None = None
    #: Tile edge in pixels; None = the engine's hint, 0 = whole image.
    tile: int | None = None


@dataclass(frozen=True, eq=False)
class DenoiseRequest(_Common):
    """Remove noise. ``strength`` 0..1: 0 returns the input, 1 removes as much as the model can.

    The default is full strength: the learned default model removes what it finds, and a lower
    value blends back part of the input (half of the noise at 0.5).
    """

    strength: float = 1.0
    #: Limit the filter to this area (float H×W, 1 = change), like a selection; None = everywhere.
    mask: np.ndarray | None = None
    #: Soften the mask edge by this many pixels.
    feather: float = 4.0
    #: How noisy the photo is, σ in 8-bit levels, for models with a noise-level control: higher
    #: removes more. None = the model's blind estimate of the photo.
    noise_level: float | None = None
    task: str = field(default="denoise", init=False)


@dataclass(frozen=True, eq=False)
class RestoreRequest(_Common):
    """Remove JPEG artefacts, blur or noise; ``mode`` says which ('all', 'jpeg', 'deblur', 'denoise')."""

    mode: str = "all"
    strength: float = 1.0
    #: Limit the filter to this area (float H×W, 1 = change), like a selection; None = everywhere.
    mask: np.ndarray | None = None
    #: Soften the mask edge by this many pixels.
    feather: float = 4.0
    #: σ in 8-bit levels for models with a noise-level control; None = their blind estimate.
    noise_level: float | None = None
    task: str = field(default="restore", init=False)


@dataclass(frozen=True, eq=False)
class InpaintRequest(_Common):
    """Fill the masked area (mask: float H×W, 1 = fill).

    ``mask_from_alpha``: the hole is the image's transparent area (as when a user erased to
    transparency in another editor). The mask may then be left out (or it adds to the hole), and
    the filled area becomes opaque in the result, which would otherwise still show a hole.
    """

    mask: np.ndarray | None = None
    mask_from_alpha: bool = False
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    steps: int = 12
    guidance: float = 4.0
    strength: float = 1.0
    #: Soften the mask edge by this many pixels when compositing the result.
    feather: float = 4.0
    #: Grow the mask by this many pixels before filling, so fills reach past object edges.
    grow: int = 2
    #: Outpaint: pixels added on the (left, top, right, bottom) sides and filled with the mask.
    extend: tuple[int, int, int, int] = (0, 0, 0, 0)
    task: str = field(default="inpaint", init=False)


@dataclass(frozen=True, eq=False)
class UpscaleRequest(_Common):
    """Enlarge by ``scale`` (any factor above 1, up to 16): the model's own factor, then Lanczos.

    ``max_megapixels`` is the largest result allowed (None = the image-size limit in force, the
    one ``--max-megapixels`` raises), so a ×16 of a photo cannot exhaust memory by surprise.
    """

    scale: float = 4.0
    max_megapixels: float | None = None
    #: The model's result only inside this area (of the input's size); Lanczos outside. None = all.
    mask: np.ndarray | None = None
    #: Soften the mask edge by this many pixels (of the input).
    feather: float = 4.0
    task: str = field(default="upscale", init=False)


@dataclass(frozen=True, eq=False)
class GenerateRequest:
    """A picture from a prompt, or a variation of ``image`` (then ``strength`` < 1 keeps some of it).

    ``image`` None: a new ``width × height`` picture. With an image and ``strength`` below 1 the
    result is a variation of the same size as the image; at strength 1 nothing of the image is kept
    and a new ``width × height`` picture replaces it (the editor's "new image" with a document open).
    ``seed`` None draws one; the result records the seed used, so it can be repeated.
    """

    image: ImageData | None = None
    model: str | None = None
    device: str | None = None
    tile: int | None = None
    prompt: str = ""
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    steps: int | None = None
    guidance: float | None = None
    seed: int | None = None
    strength: float = 1.0
    #: A LoRA from ``gptstudio train --task generate`` (its model id, or a .safetensors file) and
    #: how strongly it applies (0 = not at all, 1 = as trained).
    lora: str | None = None
    lora_strength: float = 1.0
    task: str = field(default="generate", init=False)


Request = DenoiseRequest | RestoreRequest | InpaintRequest | UpscaleRequest | GenerateRequest


@dataclass(frozen=True, eq=False)
class TaskResult:
    """The output image plus the parameters that produced it (stored in PNG outputs)."""

    image: ImageData
    params: dict[str, Any]
    seconds: float


#: How each recorded parameter is read back into a request field.
_FIELD_TYPES: dict[str, Any] = {
    "model": str,
    "tile": int,
    "strength": float,
    "mode": str,
    "prompt": str,
    "negative_prompt": str,
    "seed": int,
    "steps": int,
    "guidance": float,
    "feather": float,
    "grow": int,
    "mask_from_alpha": bool,
    "extend": lambda v: tuple(int(x) for x in v),
    "scale": float,
    "width": int,
    "height": int,
    "lora": str,
    "lora_strength": float,
}
_REQUEST_TYPES: dict[str, type[Request]] = {
    "denoise": DenoiseRequest,
    "restore": RestoreRequest,
    "inpaint": InpaintRequest,
    "upscale": UpscaleRequest,
    "generate": GenerateRequest,
}


def request_from_params(
    params: dict[str, Any], image: ImageData, *, mask: np.ndarray | None = None
) -> Request:
    """The request that repeats a stored job (``TaskResult.params``, or what ``read_params`` found).

    Every recorded field that changes the result comes back; ``device`` is recorded but not
    replayed (where a job runs is this machine's choice, and a file made on a GPU must repeat on
    a laptop). Missing fields take the request's defaults, unknown keys are ignored, so files
    from older or newer versions still load.
    """
    task = params.get("task")
    kind = _REQUEST_TYPES.get(str(task))
    if kind is None:
        raise InvalidRequestError(f"These parameters are for the task '{task}', which cannot be repeated.")
    kwargs: dict[str, Any] = {}
    names = {f.name for f in fields(kind) if f.init}
    for name, convert in _FIELD_TYPES.items():
        if name in names and params.get(name) is not None:
            try:
                kwargs[name] = convert(params[name])
            except (TypeError, ValueError) as exc:
                raise InvalidRequestError(f"The stored {name} '{params[name]}' is not valid.") from exc
    if kind is InpaintRequest:
        kwargs["mask"] = mask
    if kind is GenerateRequest and not params.get("variation"):
        # a picture made from the prompt alone: repeating it needs no input image
        return GenerateRequest(**kwargs)
    return kind(image=image, **kwargs)
