"""Training recipes: each one is a reproducible command that makes a set of shipped weights.

The table maps a recipe name (``gptstudio train --recipe NAME``) to its module; the modules import
torch, so they are only imported when a recipe runs, never when the CLI builds its help.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

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


def add_arguments(p: argparse.ArgumentParser, *, data_required: bool = True) -> argparse.ArgumentParser:
    """The options every restoration recipe takes (shared by ``python -m`` and ``gptstudio train``,
    where ``--data`` may come from a settings file instead)."""
    p.add_argument("--data", type=Path, required=data_required, help="folder of training photos")
    p.add_argument("--out", type=Path, default=None, help="where to write the exported .safetensors")
    p.add_argument("--run-dir", type=Path, default=None, help="checkpoint folder (default: user data)")
    minutes = float_option("minutes", 0, above=True)
    p.add_argument("--minutes", type=minutes, default=None, help="wall-time budget")
    p.add_argument("--steps", type=int_option("steps", 1), default=None, help="number of optimiser steps")
    p.add_argument("--lr", type=float_option("lr", 0, 1, above=True), default=1e-3, help="peak learning rate")
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
