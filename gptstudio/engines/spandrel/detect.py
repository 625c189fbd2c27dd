"""What a set of weights says about itself, through spandrel's architecture detection.

spandrel recognises an architecture from the state dict's keys and deduces its hyper-parameters
from the tensor shapes; the descriptor it returns knows the purpose, scale, channels, size
requirements, tiling hint and supported dtypes. :class:`Detected` keeps exactly that, so the store
can record it in ``model.json`` and :func:`engine_info` can describe an installed model to the GUI
without loading its weights again.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import torch

from gptstudio.core.errors import ModelError
from gptstudio.core.tiling import SizeRequirements
from gptstudio.engines.base import TASKS, EngineInfo

#: The tiling hints of spandrel's ``ModelTiling``, lower-cased.
TILING = ("supported", "discouraged", "internal")
#: CPU tile edge for models that tile well, and the overlap that hides seams for them.
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 32
#: Colour (3) and grey (1, run on each colour channel in turn) are the images we can feed.
CHANNELS = (1, 3)


@dataclass(frozen=True)
class Detected:
    """The architecture, purpose and needs of a model, as read from its weights."""

    architecture: str
    purpose: str
    tasks: tuple[str, ...]
    scale: int
    input_channels: int
    output_channels: int
    size: SizeRequirements
    tiling: str
    supports_half: bool
    supports_bf16: bool

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["tasks"] = list(self.tasks)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Detected:
        """Rebuild from :meth:`to_json`'s dict; a damaged record raises :class:`ModelError`."""
        try:
            size = d["size"]
            out = cls(
                architecture=str(d["architecture"]),
                purpose=str(d["purpose"]),
                tasks=tuple(str(t) for t in d["tasks"]),
                scale=int(d["scale"]),
                input_channels=int(d["input_channels"]),
                output_channels=int(d["output_channels"]),
                size=SizeRequirements(
                    minimum=int(size["minimum"]),
                    multiple_of=int(size["multiple_of"]),
                    square=bool(size["square"]),
                ),
                tiling=str(d["tiling"]),
                supports_half=bool(d["supports_half"]),
                supports_bf16=bool(d["supports_bf16"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"The recorded description of this model is incomplete ({exc}).") from exc
        tasks_ok = bool(out.tasks) and all(t in TASKS for t in out.tasks)
        if out.tiling not in TILING or not tasks_ok or out.scale < 1:
            raise ModelError("The recorded description of this model is not valid.")
        return out


def tasks_for(masked: bool, scale: int) -> tuple[str, ...]:
    """Inpainting for masked models; denoise and restore at scale 1; upscale above it."""
    if masked:
        return ("inpaint",)
    return ("denoise", "restore") if scale == 1 else ("upscale",)


@functools.cache
def architectures() -> Any:
    """spandrel's registry, plus spandrel-extra-arches' architectures when that opt-in is installed.

    The extra package holds the architectures under non-commercial licences (MAT, CodeFormer ...),
    so it is never a dependency; a user who installs it gets them detected as well.
    """
    from spandrel import MAIN_REGISTRY

    try:
        from spandrel_extra_arches import EXTRA_REGISTRY
    except ImportError:
        return MAIN_REGISTRY
    MAIN_REGISTRY.add(*EXTRA_REGISTRY, ignore_duplicates=True)
    return MAIN_REGISTRY


def load_descriptor(state_dict: dict[str, torch.Tensor]) -> Any:
    """spandrel's descriptor (the built model with weights loaded, on the CPU, fp32).

    A copy of the dict is handed over: some architectures rename keys in place while loading.
    """
    from spandrel import UnsupportedModelError

    try:
        return architectures().load(dict(state_dict))
    except UnsupportedModelError as exc:
        raise ModelError(
            "No supported architecture matches these weights; GPT Studio cannot run this kind of model."
        ) from exc
    except (KeyError, RuntimeError, ValueError, AssertionError, IndexError, TypeError) as exc:
        # An architecture's key pattern matched but the tensors do not fit it (a rare false
        # positive of the detector, or a truncated file).
        raise ModelError(
            "These weights look like a known architecture but do not fit it; the file may be damaged "
            "or a variant GPT Studio cannot run."
        ) from exc


def describe(descriptor: Any) -> Detected:
    """The :class:`Detected` record of a loaded spandrel descriptor."""
    from spandrel import MaskedImageModelDescriptor

    masked = isinstance(descriptor, MaskedImageModelDescriptor)
    if descriptor.purpose == "FaceSR":
        # GFPGAN and friends restore aligned face crops; on a whole photo they produce garbage.
        raise ModelError(
            "This is a face restoration model that needs aligned face crops; GPT Studio cannot run it "
            "on whole images."
        )
    scale = int(descriptor.scale)
    cin, cout = int(descriptor.input_channels), int(descriptor.output_channels)
    if cin not in CHANNELS or cout != cin:
        raise ModelError(
            f"This model turns {cin}-channel images into {cout}-channel ones; GPT Studio runs models "
            f"on colour or grey images only."
        )
    req = descriptor.size_requirements
    return Detected(
        architecture=str(descriptor.architecture.name),
        purpose=str(descriptor.purpose),
        tasks=tasks_for(masked, scale),
        scale=scale,
        input_channels=cin,
        output_channels=cout,
        # Our tiler needs at least one pixel; spandrel's neutral minimum is 0.
        size=SizeRequirements(
            minimum=max(1, int(req.minimum)),
            multiple_of=max(1, int(req.multiple_of)),
            square=bool(req.square),
        ),
        tiling=descriptor.tiling.name.lower(),
        supports_half=bool(descriptor.supports_half),
        supports_bf16=bool(descriptor.supports_bfloat16),
    )


def detect(state_dict: dict[str, torch.Tensor]) -> Detected:
    """Recognise the architecture of ``state_dict``; :class:`ModelError` if none matches."""
    return describe(load_descriptor(state_dict))


def engine_info(
    detected: Detected, *, id: str, name: str, licence: str = "", description: str = ""
) -> EngineInfo:
    """The engine descriptor of a model, from what its weights say (no weights are loaded).

    Models that tile well get CPU tiles of :data:`DEFAULT_TILE`; those whose hint is
    "discouraged" or "internal" (they use global image statistics) get whole images (tile 0),
    and are tiled only when memory forces it (the task's out-of-memory fallback passes a tile).
    """
    inpaint = "inpaint" in detected.tasks
    whole = inpaint or detected.tiling != "supported"
    return EngineInfo(
        id=id,
        name=name,
        tasks=detected.tasks,
        architecture=detected.architecture,
        description=description,
        size=detected.size,
        scale=detected.scale,
        supports_half=detected.supports_half,
        supports_bf16=detected.supports_bf16,
        tile=0 if whole else DEFAULT_TILE,
        overlap=DEFAULT_OVERLAP,
        uses=frozenset({"strength"}) if "restore" in detected.tasks else frozenset(),
        licence=licence,
        devices=("cpu", "cuda", "mps"),
    )
