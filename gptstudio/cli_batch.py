"""``gptstudio batch TASK INPUT_DIR -o OUTPUT_DIR``: a whole folder through one task.

Kept apart from ``cli.py`` because it is one feature with its own options; ``cli.py`` adds it with
:func:`register`. The work is :mod:`gptstudio.batch` (or its Ray backend with ``--ray``); this
module only turns arguments into :class:`~gptstudio.batch.BatchOptions`, shows a progress bar with
the time left, prints the summary and chooses the exit status: 0 when nothing failed, 1 when a
file failed, 130 when Ctrl-C stopped the batch. The first Ctrl-C lets the current file finish and
be written; a second one drops it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 130
#: Failed files listed after the summary; the manifest has them all.
SHOWN_FAILURES = 20


def register(sub: Any) -> None:
    """Add ``batch`` to the main parser's subparsers."""
    from gptstudio import cli_args
    from gptstudio.batch.options import BATCH_TASKS, OUTPUT_FORMATS, VARIATION_STRENGTH

    b = sub.add_parser(
        "batch",
        help="run a task on every image of a folder (resumable; mirrors sub-folders)",
        description=(
            "Run denoise, restore, upscale or inpaint on every image of a folder, or vary each one with "
            "a prompt (generate). Results mirror the "
            "sub-folders under OUTPUT_DIR, keep EXIF and ICC profiles, and a manifest there "
            "(gptstudio-batch.jsonl) lets a stopped batch resume without redoing finished files."
        ),
    )
    b.add_argument("task", choices=BATCH_TASKS, help="what to do with each image")
    b.add_argument("input_dir", type=Path, metavar="INPUT_DIR", help="the folder of images (never written)")
    b.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUTPUT_DIR", help="folder for the results"
    )
    b.add_argument(
        "--recursive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="include sub-folders (default: yes)",
    )
    b.add_argument(
        "--include", action="append", default=[], metavar="PAT", help="only paths matching this glob"
    )
    b.add_argument(
        "--exclude", action="append", default=[], metavar="PAT", help="skip paths matching this glob"
    )
    masks = b.add_mutually_exclusive_group()
    masks.add_argument(
        "--mask-dir", type=Path, help="inpaint: folder of masks, matched by relative path and file stem"
    )
    masks.add_argument("--mask", type=Path, help="inpaint: one mask for every image (white = fill)")
    b.add_argument(
        "--prompt",
        default="",
        help="inpaint: what goes in the masked area; generate: what each picture becomes",
    )
    b.add_argument("--negative-prompt", default="", help="inpaint, generate: what to avoid (prompted models)")
    b.add_argument("--steps", type=int, default=12, help="inpaint, generate: sampling steps (default 12)")
    b.add_argument("--guidance", type=float, help="generate: prompt guidance (default: the model's)")
    b.add_argument("--lora", help="generate: a LoRA from `gptstudio train --task generate` (id or file)")
    b.add_argument(
        "--lora-strength",
        type=cli_args.float_option("lora-strength", 0.0, 2.0),
        default=1.0,
        help="generate: how strongly the LoRA applies (default 1)",
    )
    b.add_argument("--feather", type=float, default=4.0, help="inpaint: soften the mask edge by N pixels")
    b.add_argument("--model", help="model id (see `gptstudio models`); default: the best installed")
    b.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: $GPTSTUDIO_DEVICE or auto)")
    b.add_argument("--tile", type=int, help="tile size in pixels (0 = whole image; default: the model's)")
    b.add_argument(
        "--strength",
        type=float,
        help="0 keeps the input, 1 full effect (default 1; generate: how much of each picture changes, "
        f"below 1, default {VARIATION_STRENGTH})",
    )
    b.add_argument("--mode", default="all", help="restore: all, jpeg, deblur or denoise (default all)")
    b.add_argument("--scale", type=float, default=4.0, help="upscale: factor above 1, at most 16 (default 4)")
    b.add_argument("--seed", type=int, help="seed for seeded tasks (default: one random seed for the batch)")
    b.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="png", help="output format; 'same' keeps each input's"
    )
    b.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality, 1-100 (default 95)")
    b.add_argument(
        "--suffix", default="", help="added to each output name: --suffix=-clean or --suffix _clean"
    )
    b.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    b.add_argument(
        "--allow-input-folder",
        action="store_true",
        help="allow OUTPUT_DIR to be INPUT_DIR (results need another name or format than the originals)",
    )
    b.add_argument(
        "--max-megapixels",
        type=float,
        help="fail images larger than this (decompression-bomb guard; default 200)",
    )
    b.add_argument(
        "--workers",
        type=int,
        help="files in flight (default: 1, or one per core for CPU-only models); with --ray, the actors",
    )
    b.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on a Ray cluster: 'local', 'auto' or ray://HOST:10001 (needs gptstudio[cluster])",
    )
    b.add_argument(
        "--cpus-per-worker", type=float, default=1.0, help="with --ray: CPUs per actor (default 1)"
    )
    b.set_defaults(func=_cmd_batch)


def options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`BatchOptions` the arguments describe (checked by the batch itself)."""
    from gptstudio.batch.options import BatchOptions, default_strength

    return BatchOptions(
        task=args.task,
        input_dir=args.input_dir,
        output_dir=args.output,
        recursive=args.recursive,
        include=tuple(args.include),
        exclude=tuple(args.exclude),
        mask_dir=args.mask_dir,
        mask_file=args.mask,
        model=args.model,
        device=args.device,
        tile=args.tile,
        strength=default_strength(args.task) if args.strength is None else args.strength,
        mode=args.mode,
        scale=args.scale,
        seed=args.seed,
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        steps=args.steps,
        feather=args.feather,
        guidance=args.guidance,
        lora=args.lora,
        lora_strength=args.lora_strength,
        format=args.format,
        quality=args.quality,
        suffix=args.suffix,
        overwrite=args.overwrite,
        allow_input_folder=args.allow_input_folder,
        max_megapixels=args.max_megapixels,
        workers=args.workers,
    )


def _cmd_batch(args: argparse.Namespace) -> int:
    from gptstudio.batch.options import check_options

    options = options_from_args(args)
    check_options(options)  # a typo fails here, before Ray starts or a model loads
    with _Bar(args.task) as bar:
        if args.ray:
            from gptstudio.batch.ray_backend import RayRunner

            runner: Any = RayRunner(
                options, args.ray, bar.state, cpus_per_worker=args.cpus_per_worker, on_record=bar.on_record
            )
        else:
            from gptstudio.batch.runner import BatchRunner

            runner = BatchRunner(options, bar.state, on_record=bar.on_record)
        with _ctrl_c_stops(runner, bar):
            summary = runner.run()
    print(summary.line())
    for rel, reason in summary.failures[:SHOWN_FAILURES]:
        print(f"failed: {rel}: {reason}", file=sys.stderr)
    if len(summary.failures) > SHOWN_FAILURES:
        more = len(summary.failures) - SHOWN_FAILURES
        print(f"... and {more} more failed; see {summary.manifest}", file=sys.stderr)
    if summary.cancelled:
        return EXIT_CANCELLED
    return EXIT_FAILED if summary.failed else EXIT_OK


class _ctrl_c_stops:
    """First Ctrl-C: finish the current file, then stop. Second: drop the current file too."""

    def __init__(self, runner: Any, bar: _Bar) -> None:
        self.runner = runner
        self.bar = bar
        self.presses = 0
        self.previous: Any = None

    def _handler(self, signum: int, frame: object) -> None:
        self.presses += 1
        if self.presses == 1:
            self.bar.note("stopping after the current file (Ctrl-C again to stop at once)")
            self.runner.cancel()
        else:
            self.runner.abort()

    def __enter__(self) -> _ctrl_c_stops:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class _Bar:
    """A tqdm bar on stderr: overall progress, the current file and the time left."""

    def __init__(self, label: str) -> None:
        from tqdm import tqdm

        from gptstudio.core.progress import TaskState

        # Re-entrant: the Ctrl-C handler may print while the main thread is inside _update.
        self._lock = threading.RLock()
        self._bar = tqdm(
            total=1000,
            desc=f"batch {label}",
            leave=False,
            file=sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} {postfix}",
            disable=None,  # shown on a terminal, silent when piped
        )
        self.state = TaskState(callback=self._update)

    def _update(self, fraction: float, message: str) -> None:
        with self._lock:
            self._bar.n = int(fraction * 1000)
            self._bar.set_postfix_str(message, refresh=False)
            self._bar.refresh()

    def on_record(self, record: dict[str, Any]) -> None:
        """On a terminal, show each failure as it happens (the summary lists them again)."""
        if record.get("status") == "failed" and not self._bar.disable:
            self.note(f"failed: {record.get('path')}: {record.get('reason')}")

    def note(self, text: str) -> None:
        with self._lock:
            if self._bar.disable:
                print(f"gptstudio: {text}", file=sys.stderr)
            else:
                self._bar.write(f"gptstudio: {text}", file=sys.stderr)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
