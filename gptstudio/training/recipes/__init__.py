"""Training recipes: each one is a reproducible command that makes a set of shipped weights.

The table maps a recipe name (``gptstudio train --recipe NAME``) to its module; the modules import
torch, so they are only imported when a recipe runs, never when the CLI builds its help.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gptstudio.cli_args import float_option, int_option

#: ``--recipe`` name -> module with ``main(argv)`` and ``train(options)``.
RECIPES = {
    "restoration-default": "gptstudio.training.recipes.restoration_default",
    "inpaint-default": "gptstudio.training.recipes.inpaint_default",
}


def phase_at(progress: float, phases: Sequence[tuple[float, int, int]]) -> tuple[int, int]:
    """The (crop size, batch size) of the last phase that has started at ``progress`` (0..1);
    ``phases`` lists (start fraction, crop, batch), earliest first."""
    crop, batch = phases[0][1:]
    for start, c, b in phases:
        if progress >= start:
            crop, batch = c, b
    return crop, batch


def hardware() -> str:
    """Where a recipe ran, as its model card says it (torch is imported only when asked)."""
    import torch

    from gptstudio.core.device import cpu_name

    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    return f"CPU only, no GPU: {cpu_name()}, {torch.get_num_threads()} threads"


def run_logged(
    args: argparse.Namespace,
    options_from_args: Callable[[argparse.Namespace], Any],
    train: Callable[[Any, Callable[[str], None]], object],
) -> int:
    """Run a recipe from parsed options with timestamped log lines, the command first (the entry
    point of ``gptstudio train --recipe`` and of each recipe's ``python -m``)."""
    from gptstudio.core.errors import InvalidRequestError

    if args.minutes is None and args.steps is None:
        raise InvalidRequestError("Give --steps, --minutes, or both, so the schedule knows its length.")

    def log(msg: str) -> None:
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    log("command: " + " ".join(sys.argv))
    train(options_from_args(args), log)
    return 0


def recipe_main(
    description: str, prog: str, run_args: Callable[[argparse.Namespace], int], argv: Sequence[str] | None
) -> int:
    """``python -m`` for a recipe: parse the shared options, run, and say a user error in one line."""
    from gptstudio.core.errors import GptStudioError

    parser = add_arguments(argparse.ArgumentParser(prog=prog, description=description))
    try:
        return run_args(parser.parse_args(argv))
    except GptStudioError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


def add_arguments(p: argparse.ArgumentParser, *, data_required: bool = True) -> argparse.ArgumentParser:
    """The options every restoration recipe takes (shared by ``python -m`` and ``gptstudio train``,
    where ``--data`` may come from a settings file instead)."""
    p.add_argument("--data", type=Path, required=data_required, help="folder of training photos")
    p.add_argument("--out", type=Path, default=None, help="where to write the exported .safetensors")
    p.add_argument("--run-dir", type=Path, default=None, help="checkpoint folder (default: user data)")
    minutes = float_option("minutes", 0, above=True)
    p.add_argument("--minutes", type=minutes, default=None, help="wall-time budget")
    p.add_argument("--steps", type=int_option("steps", 1), default=None, help="number of optimiser steps")
    p.add_argument(
        "--lr",
        type=float_option("lr", 0, 1, above=True),
        default=None,
        help="peak learning rate (default: the recipe's own)",
    )
    p.add_argument("--seed", type=int_option("seed", 0, 2**31 - 1), default=0)
    p.add_argument("--threads", type=int_option("threads", 1), default=None, help="CPU threads for training")
    p.add_argument(
        "--val",
        type=Path,
        action="append",
        default=None,
        help="folder of clean photos for a σ=25 PSNR in the log (repeat for several)",
    )
    p.add_argument(
        "--val-every",
        type=float_option("val-every", 0, above=True),
        default=300.0,
        help="seconds between validations",
    )
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument("--init", type=Path, default=None, help="fine-tune: start from this .safetensors file")
    p.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="bf16 autocast with fp32 weights (auto: where the CPU or GPU has bf16 units)",
    )
    p.add_argument(
        "--compare-precision", action="store_true", help="first time fp32 and bf16 steps and log both"
    )
    return p
