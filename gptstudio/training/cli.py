"""``gptstudio train``: fine-tune on a folder of photos, or run a recipe that makes shipped weights.

* ``gptstudio train --task TASK --data DIR --name NAME [--base MODEL] [--preset P] [--steps N]
  [--resume]`` fine-tunes (``gptstudio.training.finetune``) and installs the result as NAME;
  ``--events FILE`` / ``--control FILE`` are the Train dialog's protocol
  (``gptstudio.training.events``), ``--settings FILE`` runs a saved run's settings again.
* ``gptstudio train --recipe NAME --data DIR ...`` runs a recipe that made shipped weights, as
  their model cards cite it.

``gptstudio.cli`` calls :func:`register` with its subparsers. Registering imports no torch, so
``gptstudio --help`` stays instant; the training modules are imported only when training starts.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from gptstudio.cli_args import int_option
from gptstudio.training.events import EXIT_CANCELLED
from gptstudio.training.presets import DAMAGE_PRESETS, FINETUNE_TASKS, PRESET_NAMES
from gptstudio.training.recipes import RECIPES, add_arguments

EXIT_BAD_INPUT = 2
#: Options of the fine-tune path; with --settings they come from the file instead.
FINETUNE_FIELDS = (
    "task",
    "data",
    "name",
    "base",
    "preset",
    "steps",
    "crop",
    "batch",
    "lr",
    "damaged",
    "damage",
    "trigger",
    "prompts",
    "seed",
    "precision",
    "accumulate",
    "preview_every",
    "checkpoint_every",
    "device",
)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` command to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "train",
        help="fine-tune a model on a folder of your photos, or train by a recipe",
        description="Fine-tune: gptstudio train --task denoise --data ~/Pictures/night --name night "
        "(tasks: denoise, restore, inpaint, generate). Shipped recipes: gptstudio train --recipe "
        "restoration-default --data ../shared/data/train/CBSD432 --minutes 97",
    )
    p.add_argument("--recipe", choices=sorted(RECIPES), default=None, help="a recipe of the shipped weights")
    add_arguments(p, data_required=False)
    p.set_defaults(lr=None)
    g = p.add_argument_group("fine-tuning")
    g.add_argument("--task", choices=FINETUNE_TASKS, default=None, help="what the new model does")
    g.add_argument("--name", default=None, help="name of the new model (its id in the store)")
    g.add_argument("--base", default=None, help="model to start from (default: the task's built-in model)")
    g.add_argument("--preset", choices=PRESET_NAMES, default="balanced", help="quick, balanced or best")
    g.add_argument("--crop", type=int_option("crop", 16), default=None, help="training crop (px)")
    g.add_argument("--batch", type=int_option("batch", 1), default=None, help="pictures per step")
    g.add_argument("--accumulate", type=int_option("accumulate", 1), default=1, help="micro-batches per step")
    g.add_argument("--damaged", default=None, help="folder of the same pictures with real damage (pairs)")
    g.add_argument(
        "--damage", choices=sorted(DAMAGE_PRESETS), default="mixed", help="synthetic damage preset"
    )
    g.add_argument("--trigger", default=None, help="LoRA: a word that stands for the subject (no captions)")
    g.add_argument(
        "--sample-prompt",
        dest="prompts",
        action="append",
        default=None,
        help="LoRA: a prompt the previews draw with a fixed seed (repeat for several)",
    )
    g.add_argument("--preview-every", type=int_option("preview-every", 1), default=None, help="steps")
    g.add_argument("--checkpoint-every", type=int_option("checkpoint-every", 1), default=None, help="steps")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: the best there is)")
    g.add_argument("--events", type=Path, default=None, help="append JSON-line events here (the dialog's)")
    g.add_argument("--control", type=Path, default=None, help="read run / pause / cancel from this file")
    g.add_argument("--settings", type=Path, default=None, help="run the settings.json of an earlier run")
    p.set_defaults(func=run_train)
    return p


def run_train(args: argparse.Namespace) -> int:
    """Fine-tune (``--task`` or ``--settings``) or run the chosen recipe."""
    if args.task is None and args.settings is None:
        if args.data is None:
            print(
                "gptstudio train: give --task and --data (fine-tune) or --recipe and --data.", file=sys.stderr
            )
            return EXIT_BAD_INPUT
        module = importlib.import_module(RECIPES[args.recipe or "restoration-default"])
        return int(module.run_args(args))
    return run_finetune(args)


def run_finetune(args: argparse.Namespace) -> int:
    from gptstudio.core.errors import CancelledError, GptStudioError
    from gptstudio.training import finetune
    from gptstudio.training.runs import Settings, load_settings

    try:
        if args.settings is not None:
            settings = load_settings(args.settings)
        else:
            missing = [f"--{n}" for n in ("data", "name") if getattr(args, n) is None]
            if missing:
                print(f"gptstudio train: --task needs {' and '.join(missing)}.", file=sys.stderr)
                return EXIT_BAD_INPUT
            values = {n: getattr(args, n) for n in FINETUNE_FIELDS}
            values["data"] = str(Path(values["data"]).resolve())
            if values["damaged"]:
                values["damaged"] = str(Path(values["damaged"]).resolve())
            settings = Settings(**values)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        _join_torchrun(settings)
        finetune.run(
            settings,
            resume=args.resume,
            events=args.events,
            control=args.control,
            progress=True,
            log=lambda msg: print(msg, file=sys.stderr, flush=True),
            command="gptstudio " + " ".join(sys.argv[1:]),
        )
        return 0
    except CancelledError as exc:
        print(f"gptstudio train: {exc.message}", file=sys.stderr)
        return EXIT_CANCELLED
    except GptStudioError as exc:
        print(f"gptstudio train: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        _leave_torchrun()


def _join_torchrun(settings: Any) -> None:
    """Under ``torchrun`` (WORLD_SIZE > 1): join the process group, NCCL on GPUs (one per process,
    by LOCAL_RANK) and gloo on CPUs, so the loop trains with DDP."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return
    import torch
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    gpu = torch.cuda.is_available() and settings.device in (None, "auto", "cuda")
    if gpu:
        torch.cuda.set_device(local)
        settings.device = f"cuda:{local}"
    elif settings.device is None:
        settings.device = "cpu"
    dist.init_process_group("nccl" if gpu else "gloo")


def _leave_torchrun() -> None:
    import sys as _sys

    dist = _sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
