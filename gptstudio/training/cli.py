"""``gptstudio train``: run a training recipe from the command line.

``gptstudio.cli`` calls :func:`register` with its subparsers. Registering imports no torch, so
``gptstudio --help`` stays instant; the recipe module is imported only when training starts.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from gptstudio.training.recipes import RECIPES, add_arguments


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` command to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "train",
        help="train a model by a recipe (reproduces the shipped weights)",
        description="Train a model by a named recipe. Example: gptstudio train --recipe "
        "restoration-default --data ../shared/data/train/CBSD432 --minutes 97",
    )
    p.add_argument("--recipe", choices=sorted(RECIPES), default="restoration-default", help="which recipe")
    add_arguments(p)
    p.set_defaults(func=run_train)
    return p


def run_train(args: argparse.Namespace) -> int:
    """Import the chosen recipe and run it with the parsed options."""
    module = importlib.import_module(RECIPES[args.recipe])
    return int(module.run_args(args))
