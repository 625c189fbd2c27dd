"""What a batch is asked to do, checked once before any file is touched.

One frozen :class:`BatchOptions` travels to every stage (and to Ray actors on other machines), so
the options are plain data. :func:`options_key` condenses the options that change an output's
bytes into one hash: the manifest stores it per file, and a resumed batch redoes a file only when
its input or this key changed. Options that only choose *which* files run (patterns, recursion,
overwrite) stay out of the key, so narrowing a rerun does not redo finished work.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gptstudio.core.errors import InvalidRequestError, MaskError
from gptstudio.engines.base import RESTORE_MODES

#: Tasks a batch can run; "generate" varies each picture with a prompt (image-to-image).
BATCH_TASKS = ("denoise", "restore", "upscale", "inpaint", "generate")
#: Tasks that load no model (``gptstudio adjust`` on a folder runs through the batch this way).
MODEL_FREE_TASKS = ("adjust",)
#: Tasks whose result depends on a seed: one seed is fixed per batch and recorded.
SEEDED_TASKS = frozenset({"inpaint", "generate"})
#: A variation keeps some of each picture: how much changes when the user does not say.
VARIATION_STRENGTH = 0.6
#: ``format`` values: a fixed output format, or "same" to keep each input's own.
OUTPUT_FORMATS = ("png", "jpg", "webp", "tiff", "same")
#: File extension written for each fixed format.
FORMAT_EXTENSIONS = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tiff": ".tif"}


@dataclass(frozen=True)
class BatchOptions:
    """Every choice of one batch run: where, which files, which task with which settings, how to write."""

    task: str
    input_dir: Path
    output_dir: Path
    recursive: bool = True
    #: Glob patterns on the path relative to the input folder (``*`` also crosses folders); a
    #: pattern without "/" is also tried on the file name alone. Empty include = every image.
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: Inpaint: a folder of masks matched by relative path and stem, or one mask for every image.
    mask_dir: Path | None = None
    mask_file: Path | None = None
    model: str | None = None
    device: str | None = None
    tile: int | None = None
    strength: float = 1.0
    mode: str = "all"
    scale: float = 4.0
    seed: int | None = None
    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 12
    feather: float = 4.0
    #: Generate: classifier-free guidance (None = the model's default), and a LoRA trained with
    #: ``gptstudio train --task generate`` (store id or file) with how strongly it applies.
    guidance: float | None = None
    lora: str | None = None
    lora_strength: float = 1.0
    format: str = "png"
    quality: int = 95
    suffix: str = ""
    overwrite: bool = False
    #: Write into the input folder itself (outputs must then differ from every input's name).
    allow_input_folder: bool = False
    max_megapixels: float | None = None
    #: Files in flight on the model; None = one, or one per core for CPU-only engines.
    workers: int | None = None
    #: Extra request fields for tasks added later, kept sorted so the key is stable.
    extra: tuple[tuple[str, Any], ...] = field(default=())


def check_options(options: BatchOptions) -> None:
    """Raise a clear :class:`InvalidRequestError` (or :class:`MaskError`) for anything a user got wrong.

    The checks are the task modules' own (ranges, upscale factor, restore modes), run before the
    first file so a typo fails at once instead of once per file.
    """
    from gptstudio.tasks.common import check_range
    from gptstudio.tasks.upscale import check_factor

    o = options
    if o.task not in BATCH_TASKS and o.task not in MODEL_FREE_TASKS:
        raise InvalidRequestError(f"A batch cannot run '{o.task}'. Use one of: {', '.join(BATCH_TASKS)}.")
    if not o.input_dir.is_dir():
        raise InvalidRequestError(f"The input folder {o.input_dir} does not exist or is not a folder.")
    if o.output_dir.exists() and not o.output_dir.is_dir():
        raise InvalidRequestError(f"The output {o.output_dir} is a file; give a folder for the results.")
    if o.output_dir.resolve() == o.input_dir.resolve() and not o.allow_input_folder:
        raise InvalidRequestError(
            "The output folder is the input folder; choose another one so no original can be touched."
        )
    if o.task in ("denoise", "restore", "inpaint"):
        check_range("Strength", o.strength, 0.0, 1.0)
    if o.task == "generate":
        _check_variation(o)
    if o.task == "restore" and o.mode not in RESTORE_MODES:
        raise InvalidRequestError(f"Unknown restore mode '{o.mode}'. Use one of: {', '.join(RESTORE_MODES)}.")
    if o.task == "upscale":
        check_factor(float(o.scale))
    if o.task == "adjust":
        from gptstudio.tasks.adjust import check_settings

        check_settings(o.extra)
    if o.tile is not None and o.tile < 0:
        raise InvalidRequestError(f"The tile size cannot be negative (got {o.tile}); 0 = whole image.")
    if o.format not in OUTPUT_FORMATS:
        raise InvalidRequestError(
            f"Unknown output format '{o.format}'. Use one of: {', '.join(OUTPUT_FORMATS)}."
        )
    check_range("Quality", o.quality, 1, 100)
    if "/" in o.suffix or "\\" in o.suffix:
        raise InvalidRequestError("The name suffix cannot contain a folder separator.")
    if o.max_megapixels is not None and not (math.isfinite(o.max_megapixels) and o.max_megapixels > 0):
        raise InvalidRequestError("The image-size limit must be a positive number of megapixels.")
    if o.workers is not None and o.workers < 1:
        raise InvalidRequestError("At least one file must be in flight (workers ≥ 1).")
    if o.seed is not None and o.seed < 0:
        raise InvalidRequestError("The seed must be zero or positive.")
    _check_masks(o)


def default_strength(task: str) -> float:
    """Strength when none is given: a variation keeps part of each picture, the filters act fully."""
    return VARIATION_STRENGTH if task == "generate" else 1.0


def _check_variation(o: BatchOptions) -> None:
    """A batch generate varies each picture: the generate task's own checks, and a strength below
    1 (at 1 nothing of the picture would be kept: every output a new, unrelated picture)."""
    from gptstudio.tasks.generate import check_generate
    from gptstudio.tasks.requests import GenerateRequest

    if not o.strength < 1.0:
        raise InvalidRequestError(
            "A batch varies each picture, so Strength must be below 1 (how much of each picture "
            f"changes; {VARIATION_STRENGTH} is a good start)."
        )
    check_generate(
        GenerateRequest(
            prompt=o.prompt, strength=o.strength, steps=o.steps, guidance=o.guidance,
            lora_strength=o.lora_strength,
        )
    )  # fmt: skip


def _check_masks(o: BatchOptions) -> None:
    if o.task != "inpaint":
        if o.mask_dir is not None or o.mask_file is not None:
            raise InvalidRequestError(f"Only inpaint uses masks; '{o.task}' works on whole images.")
        return
    if o.steps < 1:
        raise InvalidRequestError("Steps must be at least 1.")
    from gptstudio.tasks.common import check_range

    check_range("Feather", o.feather, 0.0, 256.0)
    if (o.mask_dir is None) == (o.mask_file is None):
        raise MaskError("Inpainting a folder needs either a mask folder (--mask-dir) or one mask (--mask).")
    if o.mask_dir is not None and not o.mask_dir.is_dir():
        raise MaskError(f"The mask folder {o.mask_dir} does not exist.")
    if o.mask_file is not None and not o.mask_file.is_file():
        raise MaskError(f"The mask {o.mask_file} does not exist.")


def task_settings(options: BatchOptions, seed: int | None) -> dict[str, Any]:
    """The settings of the options' task that shape its result (what the manifest records)."""
    o = options
    out: dict[str, Any] = {"task": o.task, "tile": o.tile}
    if o.task in ("denoise", "restore"):
        out["strength"] = o.strength
    if o.task == "restore":
        out["mode"] = o.mode
    if o.task == "upscale":
        out["scale"] = float(o.scale)
    if o.task in ("inpaint", "generate"):  # the prompted tasks
        out.update(strength=o.strength, prompt=o.prompt, negative_prompt=o.negative_prompt, steps=o.steps)
    if o.task == "inpaint":
        out["feather"] = o.feather
    if o.task == "generate":
        lora_strength = o.lora_strength if o.lora else None
        out.update(guidance=o.guidance, lora=o.lora, lora_strength=lora_strength)
    if o.task in SEEDED_TASKS:
        out["seed"] = seed
    out.update(dict(o.extra))
    return out


def options_key(options: BatchOptions, model_id: str, seed: int | None) -> str:
    """A short hash of everything that changes an output's bytes (see the module docstring)."""
    payload = {
        **task_settings(options, seed),
        "model": model_id,
        "device": (options.device or "auto").lower(),
        "format": options.format,
        "quality": options.quality if options.format in ("jpg", "webp", "same") else None,
        "suffix": options.suffix,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
