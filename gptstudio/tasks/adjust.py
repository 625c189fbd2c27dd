"""The adjust task: brightness, contrast, colour and levels on a whole image or through a mask.

Why a task like the others (a frozen request in, a :class:`TaskResult` with every parameter out):
the editor's Apply, ``gptstudio adjust`` and a batch over a folder must give the same pixels and
record the same parameters, and a result that says what produced it lands in the editor's
history like any model's. No model is loaded; the arithmetic is :mod:`gptstudio.core.adjust`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from gptstudio.core.adjust import Adjustments, apply_adjustments, auto_levels
from gptstudio.core.imagedata import ImageData
from gptstudio.core.masks import composite
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo
from gptstudio.tasks.common import timed
from gptstudio.tasks.masked import blend_mask, mask_params
from gptstudio.tasks.requests import TaskResult

#: What batch and the CLI show as the "model" of an adjustment: none is loaded. CPU-only and
#: seedless, so a batch runs one file per core.
INFO = EngineInfo(
    id="adjust",
    name="Adjustments (no model)",
    tasks=(),
    architecture="numpy",
    description="Brightness, contrast, saturation, colour balance, levels and white balance.",
    tile=0,
    devices=("cpu",),
)


@dataclass(frozen=True, eq=False)
class AdjustRequest:
    """Adjust ``image``. ``auto_levels`` measures black and white points on this image first
    (they replace ``adjustments.black``/``white`` and are recorded, so the result repeats)."""

    image: ImageData
    adjustments: Adjustments = field(default_factory=Adjustments)
    auto_levels: bool = False
    #: Limit the change to this area (float H×W, 1 = change), feathered; None = everywhere.
    mask: np.ndarray | None = None
    feather: float = 4.0
    #: Accepted for symmetry with the other requests (a batch passes them); unused.
    model: str | None = None
    device: str | None = None
    tile: int | None = None
    task: str = field(default="adjust", init=False)


def resolved(request: AdjustRequest) -> Adjustments:
    """The adjustments that will run, with auto levels measured on the request's image."""
    a = request.adjustments
    if request.auto_levels:
        black, white = auto_levels(request.image.rgb)
        a = replace(a, black=black, white=white, auto_levels=True)
    return a


def adjust(request: AdjustRequest, state: TaskState | None = None) -> TaskResult:
    """Run the adjustments; the alpha channel, bit depth and metadata are kept."""
    state = state or TaskState()
    image = request.image
    with timed() as t:
        state.report(0.0, "Adjusting")
        a = resolved(request)
        rgb = apply_adjustments(image.rgb, a)
        state.check()
        params: dict[str, object] = {"task": "adjust", "model": INFO.id, "device": "cpu", **a.to_params()}
        if request.mask is not None:
            blend = blend_mask(request.mask, image.size, request.feather)
            rgb = composite(image.rgb, rgb, blend, out=rgb)
            params.update(mask_params(request.feather, None))
        state.report(1.0, "Done")
    from gptstudio import __version__

    params["program"] = f"gptstudio {__version__}"
    return TaskResult(image=image.with_rgb(rgb), params=params, seconds=t[0])


def settings(
    adjustments: Adjustments, auto: bool = False, grey_point: tuple[int, int] | None = None
) -> tuple[tuple[str, object], ...]:
    """The adjustments as sorted (name, value) pairs of plain data: what a batch carries to every
    file (and to Ray actors) and hashes into its options key, so changing a value redoes a file."""
    params = adjustments.to_params()
    params.pop("auto_levels", None)
    out = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    out["auto_levels"] = bool(auto)
    out["grey_point"] = None if grey_point is None else (int(grey_point[0]), int(grey_point[1]))
    return tuple(sorted(out.items()))


def request_from_settings(
    image: ImageData, pairs: tuple[tuple[str, object], ...], **common: object
) -> AdjustRequest:
    """The request :func:`settings` describes, for this image: a grey point is sampled here, on
    this image (a grey card at the same place in every photo of a shoot)."""
    from gptstudio.core.adjust import grey_point_gains, sample_colour

    values = dict(pairs)
    a = Adjustments.from_params(values)
    point = values.get("grey_point")
    if point is not None:
        x, y = (int(v) for v in point)  # type: ignore[union-attr]
        a = replace(a, wb_gains=grey_point_gains(sample_colour(image.rgb, x, y)))
    return AdjustRequest(image=image, adjustments=a, auto_levels=bool(values.get("auto_levels")), **common)  # type: ignore[arg-type]


def check_settings(pairs: tuple[tuple[str, object], ...]) -> None:
    """Raise :class:`~gptstudio.core.errors.InvalidRequestError` for a bad value, before a batch
    touches its first file."""
    Adjustments.from_params(dict(pairs))
