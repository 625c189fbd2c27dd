"""Recipe ``inpaint-default``: how the shipped GIT inpainting weights are made.

Run it as ``gptstudio train --recipe inpaint-default --data ../shared/data/train/CBSD432 --minutes 85``.
Random crops of the folder get random holes (free-form strokes, boxes and object blobs covering
5–50 % of the crop, see ``gptstudio.training.hole_masks``); the generator fills them and learns from

* an L1 reconstruction loss over the whole composited picture (known pixels put back, as
  inference does) with a heavier weight inside the hole, and a small one on the raw output outside;
* after a warm-up on L1 alone, a spectral-normalised patch discriminator with the hinge loss,
  mask-aware as in LaMa (patches outside the hole of a fake count as real), and feature matching
  on the discriminator's features. No loss needs pretrained weights we could not ship.

AdamW with a warm-up then cosine learning rate, bf16 autocast with fp32 master weights where the
hardware has bf16 units, small crops first and larger ones last, and an exponential moving average
of the generator's weights, which is what gets exported (fp16 safetensors). Checkpoints (both
networks, the EMA, both optimisers, the step and the random states) go to the user's checkpoint
folder, written atomically, and ``--resume`` continues from the last one. ``--init FILE`` starts
from exported weights instead (the second stage that made the shipped v2: 256 px crops throughout,
the discriminator from 10 % of the schedule).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.paths import checkpoints_dir
from gptstudio.engines.native.inpaint_arch import GIT, GITConfig, PatchDiscriminator
from gptstudio.engines.native.inpaint_io import load, save
from gptstudio.training.data import load_folder
from gptstudio.training.events import Observer
from gptstudio.training.hole_masks import random_hole
from gptstudio.training.inpainting import CropSampler, GanSettings, InpaintRecipe, fill, hole_psnr
from gptstudio.training.loop import Loop, LoopConfig
from gptstudio.training.precision import memory_format
from gptstudio.training.recipes import hardware, phase_at, recipe_main, run_logged

NAME = "inpaint-default"
CONFIG = GITConfig()
#: (start as a fraction of training, crop size, batch size).
PHASES = ((0.0, 128, 16), (0.5, 256, 8))
#: Continuing from ``--init``: the network knows the basics, so the large crops from the start.
INIT_PHASES = ((0.0, 256, 8),)
#: Fraction of training on L1 alone before the discriminator joins (a fresh discriminator
#: catches up quickly with a trained generator, so an ``--init`` run starts it sooner).
GAN_START = 0.3
INIT_GAN_START = 0.1
HOLE_WEIGHT = 5.0
ADV_WEIGHT = 0.01
FM_WEIGHT = 0.1


@dataclass
class Options:
    data: Path
    out: Path
    run_dir: Path
    minutes: float | None
    steps: int | None
    lr: float = 5e-4
    d_lr: float = 2e-4
    warmup: int = 200
    ema: float = 0.999
    seed: int = 0
    threads: int | None = None
    val: Sequence[Path] = ()
    val_every: float = 300.0
    checkpoint_every: float = 300.0
    resume: bool = False
    log_every: int = 50
    precision: str = "auto"
    #: Continue from these exported weights (stage 2) instead of random ones.
    init: Path | None = None
    #: The shipped network and crop phases; tests pass tiny ones.
    config: GITConfig = CONFIG
    phases: tuple[tuple[float, int, int], ...] = PHASES


class Validator:
    """PSNR inside fixed holes on fixed crops of a folder, to watch progress in the log only."""

    def __init__(self, folder: Path, count: int = 8, crop: int = 256) -> None:
        self.name = folder.name
        rng = np.random.default_rng(4321)
        self.items = []
        for img in load_folder(folder, min_side=crop)[:count]:
            h, w = img.shape[:2]
            y, x = (h - crop) // 2, (w - crop) // 2
            clean = img[y : y + crop, x : x + crop].astype(np.float32) / 255.0
            self.items.append((clean, random_hole(crop, crop, rng, (0.1, 0.25))))

    def __call__(self, model: GIT, device: str) -> float:
        scores = [
            hole_psnr(fill(model, clean, hole, device), clean, hole > 0.5) for clean, hole in self.items
        ]
        return float(np.mean(scores))


def train(opts: Options, log: Callable[[str], None] = print) -> dict[str, object]:
    """Run the recipe on the shared loop; returns a summary (steps, seconds, validation PSNR, output)."""
    if opts.minutes is None and opts.steps is None:
        raise InvalidRequestError("Give --steps, --minutes, or both, so the schedule knows its length.")
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(opts.seed)
    phases = INIT_PHASES if opts.init and opts.phases == PHASES else opts.phases
    images = load_folder(opts.data, min_side=max(c for _, c, _ in phases))
    sampler = CropSampler(images, opts.seed)
    # Validation crops are the last phase's size (256 px for the shipped recipe).
    validators = [Validator(Path(v), crop=phases[-1][1]) for v in opts.val]
    fmt = memory_format(device)
    gen = GIT(opts.config)
    if opts.init:
        _init_from(gen, opts.init)
        log(f"starting from the weights in {opts.init}")
    gen = gen.to(device, memory_format=fmt)
    disc = PatchDiscriminator().to(device, memory_format=fmt)

    def draw(rng: np.random.Generator, progress: float) -> tuple[torch.Tensor, ...]:
        sampler.rng = rng  # the loop's generator: the data order is in its checkpoints
        crop, batch = phase_at(progress, phases)
        return sampler.batch(batch, crop)

    def validate(ema: torch.nn.Module, device: str) -> dict[str, float]:
        return {f"{v.name}_hole_psnr": v(ema, device) for v in validators}  # type: ignore[arg-type]

    settings = GanSettings(
        lr=opts.lr,
        d_lr=opts.d_lr,
        warmup=opts.warmup,
        gan_start=INIT_GAN_START if opts.init else GAN_START,
        hole_weight=HOLE_WEIGHT,
        adv_weight=ADV_WEIGHT,
        fm_weight=FM_WEIGHT,
    )
    recipe = InpaintRecipe(gen, disc, draw, device, settings, (validate,))
    opts.run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = opts.run_dir / "last.pt"
    config = LoopConfig(
        steps=opts.steps,
        minutes=opts.minutes,
        seed=opts.seed,
        ema=opts.ema,
        precision=opts.precision,
        device=device,
        checkpoint=ckpt_path,
        checkpoint_seconds=opts.checkpoint_every,
        validate_seconds=opts.val_every,
        resume=opts.resume,
    )
    loop = Loop(recipe, config, [_Log(log, opts.log_every, phases)])
    if opts.resume and ckpt_path.is_file():
        log(f"resuming from {ckpt_path}")
    g_m, d_m = (sum(p.numel() for p in net.parameters()) / 1e6 for net in (gen, disc))
    log(
        f"recipe {NAME}: {len(images)} images, generator {g_m:.2f} M parameters, discriminator "
        f"{d_m:.2f} M, device {device}, {hardware()}, {'bf16 autocast' if loop.bf16 else 'fp32'}"
    )
    result = loop.run()
    history = result.history
    summary: dict[str, object] = {
        "recipe": NAME,
        "steps": result.steps,
        "wall_seconds": round(result.seconds, 1),
        "hardware": hardware(),
        "data": str(opts.data),
        "init": opts.init.name if opts.init else None,
        "precision": "bf16 autocast" if result.bf16 else "fp32",
        "final_val": history[-1] if history else None,
    }
    meta = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in summary.items()}
    save(result.ema, opts.out, metadata=meta)  # type: ignore[arg-type]
    summary["out"] = str(opts.out)
    log(f"exported EMA weights to {opts.out}: {json.dumps(summary)}")
    return summary


def _init_from(gen: GIT, path: Path) -> None:
    """Load exported GIT weights into the recipe's generator; another shape is refused."""
    start, _meta = load(path)
    if start.config != gen.config:
        raise InvalidRequestError(f"{path.name} is a {start.config} network, not the recipe's {gen.config}.")
    gen.load_state_dict({k: v.float() for k, v in start.state_dict().items()})


class _Log(Observer):
    """Smoothed losses every ``every`` steps and the validations, as the recipe always logged."""

    def __init__(
        self, log: Callable[[str], None], every: int, phases: Sequence[tuple[float, int, int]]
    ) -> None:
        self.log, self.every, self.phases = log, every, phases
        self.avg: dict[str, float] = {}

    def step(
        self,
        step: int,
        steps: int | None,
        losses: dict[str, float],
        lr: float,
        rate: float,
        seconds_left: float | None,
    ) -> None:
        for k, v in losses.items():
            self.avg[k] = 0.98 * self.avg[k] + 0.02 * v if k in self.avg else v
        if step % self.every == 0:
            shown = " ".join(f"{k} {v:.4f}" for k, v in self.avg.items())
            log_phase = phase_at(step / steps if steps else 0.0, self.phases)
            self.log(f"step {step} crop {log_phase[0]} batch {log_phase[1]} lr {lr:.2e} {shown}")

    def validated(self, step: int, numbers: dict[str, float]) -> None:
        self.log(f"val step {step}: " + ", ".join(f"{k} {v:.2f}" for k, v in numbers.items()))


def options_from_args(args: argparse.Namespace) -> Options:
    run_dir = args.run_dir or (checkpoints_dir() / NAME)
    return Options(
        data=args.data,
        out=args.out or (run_dir / "git-inpaint.safetensors"),
        run_dir=run_dir,
        minutes=args.minutes,
        steps=args.steps,
        seed=args.seed,
        threads=args.threads,
        val=args.val or (),
        val_every=args.val_every,
        resume=args.resume,
        precision=args.precision,
        init=args.init,
        **({} if args.lr is None else {"lr": args.lr}),  # else the recipe's own default
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, train, export; returns the exit status."""
    return recipe_main(__doc__.splitlines()[0], f"python -m {__name__}", run_args, argv)


def run_args(args: argparse.Namespace) -> int:
    """Train from parsed options (the entry point of ``gptstudio train`` too)."""
    return run_logged(args, options_from_args, train)


if __name__ == "__main__":
    raise SystemExit(main())
