"""What happens to one file, stage by stage, the same way in every backend.

The local runner spreads the stages over threads (hash, decide and decode in a prefetch thread,
the model on the caller's thread, encode and write in a writer thread); a Ray actor calls them in
order with :func:`process_file`. Sharing these functions is what makes a file's output and its
manifest record the same whichever path produced them, and byte-identical to a single-image run:
the request is built as the CLI builds it, and the result is saved with ``save_image`` and the
task's own parameters, nothing added.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gptstudio.batch.discovery import PlannedFile
from gptstudio.batch.manifest import DONE, FAILED, SKIPPED
from gptstudio.batch.options import BatchOptions, task_settings
from gptstudio.core.errors import GptStudioError
from gptstudio.core.imageio import ImageData, load_image, save_image
from gptstudio.core.progress import TaskState
from gptstudio.tasks import (
    DenoiseRequest,
    GenerateRequest,
    InpaintRequest,
    Request,
    RestoreRequest,
    TaskResult,
    UpscaleRequest,
)
from gptstudio.tasks import run as run_request

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BatchContext:
    """What every file of one run shares; plain data, so it can travel to a Ray actor."""

    options: BatchOptions
    model_id: str
    seed: int | None
    key: str
    run_id: str


@dataclass
class Job:
    """One file on its way through the stages; the big arrays are dropped once written."""

    item: PlannedFile
    sha256: str | None = None
    mask_sha256: str | None = None
    #: "run", "skip" or "fail", and why (a redo says what changed).
    action: str = "run"
    reason: str = ""
    replace: bool = False
    image: ImageData | None = None
    mask: np.ndarray | None = None
    result: TaskResult | None = None
    seconds: float = 0.0
    megapixels: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Any) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_key(ctx: BatchContext, mask_sha256: str | None) -> str:
    """The options key, extended by the mask's hash: a changed mask redoes its image."""
    if mask_sha256 is None:
        return ctx.key
    return hashlib.sha256(f"{ctx.key}:{mask_sha256}".encode()).hexdigest()[:16]


def decide(ctx: BatchContext, job: Job, previous: dict[str, Any] | None) -> None:
    """Hash the input (and mask) and choose: run it, skip it (done or foreign output), or fail it.

    A file is skipped as done only when an earlier record has the same input hash, the same
    options (and mask) and its output is still there. An existing output is replaced when it is
    this batch's own stale result (input or options changed) or when ``overwrite`` asks; any
    other file in the way is left alone and reported.
    """
    item = job.item
    if item.problem is not None:
        job.action, job.reason = "fail", item.problem
        return
    try:
        job.sha256 = sha256_file(item.source)
        if item.mask is not None:
            job.mask_sha256 = sha256_file(item.mask)
    except OSError as exc:
        which = item.mask if job.sha256 is not None else item.source
        job.action, job.reason = "fail", f"{which.name} cannot be read: {exc.strerror or exc}"
        return
    key = file_key(ctx, job.mask_sha256)
    exists = item.output.exists()
    ours = previous is not None and previous.get("output") == item.output_rel
    if ours and exists and previous.get("sha256") == job.sha256 and previous.get("options_key") == key:
        job.action, job.reason = "skip", "already done"
        return
    if ours:
        changed = "input changed" if previous.get("sha256") != job.sha256 else "options changed"
        job.reason = f"{changed} since the last run" if exists else "the output was missing"
        job.replace = exists
    elif exists:
        if not ctx.options.overwrite:
            job.action = "skip"
            job.reason = "the output already exists; pass --overwrite to replace it"
            return
        job.replace, job.reason = True, "replaced the existing output"


def load_inputs(ctx: BatchContext, job: Job) -> None:
    """Decode the image (and its mask) into the job; raises GptStudioError subclasses saying why."""
    from gptstudio.core.masks import load_mask

    limit = ctx.options.max_megapixels
    job.image = load_image(job.item.source, max_megapixels=limit)
    job.megapixels = job.image.width * job.image.height / 1e6
    if job.item.mask is not None:
        job.mask = load_mask(job.item.mask, job.image.size, max_megapixels=limit)


def build_request(ctx: BatchContext, image: ImageData, mask: np.ndarray | None) -> Request:
    """The task request exactly as the single-image command builds it for the same options."""
    o = ctx.options
    common: dict[str, Any] = {"image": image, "model": ctx.model_id, "device": o.device, "tile": o.tile}
    if o.task == "adjust":
        from gptstudio.tasks.adjust import request_from_settings

        return request_from_settings(image, o.extra, model=ctx.model_id, device=o.device, tile=o.tile)  # type: ignore[return-value]
    if o.task == "denoise":
        return DenoiseRequest(strength=o.strength, **common)
    if o.task == "restore":
        return RestoreRequest(mode=o.mode, strength=o.strength, **common)
    if o.task == "upscale":
        return UpscaleRequest(scale=float(o.scale), max_megapixels=o.max_megapixels, **common)
    if o.task == "generate":
        return GenerateRequest(
            prompt=o.prompt,
            negative_prompt=o.negative_prompt,
            strength=o.strength,
            steps=o.steps,
            guidance=o.guidance,
            seed=ctx.seed,
            lora=o.lora,
            lora_strength=o.lora_strength,
            **common,
        )
    return InpaintRequest(
        mask=mask,
        prompt=o.prompt,
        negative_prompt=o.negative_prompt,
        seed=ctx.seed,
        steps=o.steps,
        feather=o.feather,
        strength=o.strength,
        **common,
    )


def run_model(ctx: BatchContext, job: Job, state: TaskState) -> None:
    """The model stage: the task on the decoded image; the input arrays are released after."""
    assert job.image is not None
    start = time.perf_counter()
    job.result = run_request(build_request(ctx, job.image, job.mask), state)
    job.seconds = time.perf_counter() - start
    job.image = job.mask = None


def write_output(ctx: BatchContext, job: Job) -> None:
    """Encode and write the result atomically, with the task's parameters, EXIF and ICC."""
    assert job.result is not None
    save_image(
        job.result.image,
        job.item.output,
        params=job.result.params,
        quality=ctx.options.quality,
        overwrite=job.replace,
    )


def record(ctx: BatchContext, job: Job, status: str) -> dict[str, Any]:
    """The manifest line for this attempt of this file."""
    done = status == DONE and job.result is not None
    params = (
        dict(job.result.params) if done and job.result is not None else task_settings(ctx.options, ctx.seed)
    )
    return {
        "kind": "file",
        "run": ctx.run_id,
        "path": job.item.rel,
        "status": status,
        "reason": job.reason,
        "params": params,
        "model": params.get("model", ctx.model_id),
        "seconds": round(job.seconds, 4),
        "megapixels": round(job.megapixels, 4),
        "sha256": job.sha256,
        "mask": None if job.item.mask is None else str(job.item.mask),
        "mask_sha256": job.mask_sha256,
        "output": job.item.output_rel,
        "options_key": file_key(ctx, job.mask_sha256),
    }


def failure_reason(exc: BaseException) -> str:
    """One line for the manifest: the user-facing message, or the type of an unexpected error."""
    if isinstance(exc, GptStudioError):
        return exc.message
    return f"unexpected error ({type(exc).__name__}: {exc})"


def process_file(ctx: BatchContext, item: PlannedFile, previous: dict[str, Any] | None) -> dict[str, Any]:
    """All stages for one file in order (the Ray actor's work); returns its manifest record."""
    job = Job(item)
    decide(ctx, job, previous)
    if job.action == "skip":
        return record(ctx, job, SKIPPED)
    if job.action == "fail":
        return record(ctx, job, FAILED)
    try:
        load_inputs(ctx, job)
        run_model(ctx, job, TaskState())
        write_output(ctx, job)
    except Exception as exc:
        job.reason = failure_reason(exc)
        job.result = None
        return record(ctx, job, FAILED)
    return record(ctx, job, DONE)
