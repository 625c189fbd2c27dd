"""Recipe ``restoration-default``: how the shipped GRT restoration weights are made.

Run it as ``python -m gptstudio.training.recipes.restoration_default --data ../shared/data/train/CBSD432``
or ``gptstudio train --recipe restoration-default --data ...``. It trains a blind GRT on random
patches of the folder with on-the-fly damage (Gaussian noise σ 0-55, Poisson-Gaussian camera noise
with chroma blotches, JPEG quality 10-90, mild blur), with AdamW, a warm-up then cosine learning
rate, a Charbonnier loss, progressive patch sizes and an exponential moving average of the
weights (the EMA is what gets exported). Checkpoints go to the user's checkpoint folder (never into
git) and ``--resume`` continues from the last one.

Patches come from the photos as they are and from copies downscaled to 0.7 and 0.5 (see
``gptstudio.training.data``), so the network keeps the fine colour detail and crisp texture of
sharp photos instead of learning the soft, 4:2:0 look of CBSD432's JPEGs as "clean".

``--init FILE`` starts from an exported weight file instead of random weights, with a fresh
optimiser and schedule (fine-tuning); the shipped weights were made in such stages, recorded in
their model card. A file without the noise-level input (v2) gets it added, starting at zero.

Each patch is labelled with a noise level for the network's noise-level input (see
``gptstudio.training.noise_levels``). Training runs in bf16 autocast with fp32 master weights where
the hardware has bf16 units (``--precision``), and ``--compare-precision`` first times fp32 and
bf16 steps in the same run for the model card.

The schedule is driven by ``--steps`` (reproducible step for step) or by a wall-time budget
``--minutes`` (for a fixed slot of machine time); with both, it ends at whichever comes first and
the learning rate follows whichever is further along.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.core.paths import checkpoints_dir
from gptstudio.engines.native.arch import GRT, GRTConfig
from gptstudio.engines.native.io import load as load_weights
from gptstudio.engines.native.io import save
from gptstudio.training.data import PatchSampler, load_folder
from gptstudio.training.degrade import MODE_ALL, MODE_DENOISE, DegradationMix, gaussian_noise
from gptstudio.training.events import Observer
from gptstudio.training.loop import Loop, LoopConfig
from gptstudio.training.precision import memory_format, steps_per_second
from gptstudio.training.recipes import hardware, phase_at, recipe_main, run_logged
from gptstudio.training.restoration import RestorationRecipe, psnr

NAME = "restoration-default"
#: The architecture of the shipped model (about 1.3 M parameters, ~104 kFLOP per pixel).
CONFIG = GRTConfig(
    width=32, enc_blocks=(2, 2), mid_blocks=4, dec_blocks=(2, 2), heads=(1, 2, 4), noise_level=True
)
#: (start of the phase as a fraction of training, patch size, batch size): small patches first
#: (many cheap steps while the network learns the basics), large ones last (context for the
#: channel attention, whose statistics then match whole images better).
PATCH_PHASES = ((0.0, 48, 24), (0.3, 64, 16), (0.7, 96, 8))
#: Phases when fine-tuning from ``--init``: the network already knows the basics, so no 48 px stage.
FINETUNE_PHASES = ((0.0, 64, 16), (0.4, 96, 8))
#: (scale, probability) of the copies of the training photos that patches are cut from.
SCALES = ((1.0, 0.4), (0.7, 0.2), (0.5, 0.4))


@dataclass
class Options:
    data: Path
    out: Path
    run_dir: Path
    minutes: float | None
    steps: int | None
    lr: float = 1e-3
    warmup: int = 300
    ema: float = 0.999
    seed: int = 0
    threads: int | None = None
    val: Sequence[Path] = ()
    init: Path | None = None
    val_every: float = 300.0
    checkpoint_every: float = 300.0
    resume: bool = False
    log_every: int = 50
    config: GRTConfig = CONFIG
    precision: str = "auto"
    compare_precision: bool = False


class Validator:
    """PSNR at σ=25 on fixed centre crops with fixed noise, to watch progress in the log.

    It is for monitoring only: the exported weights are the final EMA, not the best-scoring ones,
    so the benchmark images never choose the model.
    """

    def __init__(self, folder: Path, *, count: int = 8, crop: int = 256, sigma: float = 25.0) -> None:
        self.name = folder.name
        rng = np.random.default_rng(1234)
        self.clean, self.noisy = [], []
        for img in load_folder(folder)[:count]:
            h, w = img.shape[:2]
            c = min(crop, h, w) // 8 * 8
            y, x = (h - c) // 2, (w - c) // 2
            patch = np.ascontiguousarray(img[y : y + c, x : x + c])
            self.clean.append(patch)
            self.noisy.append(gaussian_noise(patch, sigma, rng))
        #: The noise level as the app would feed it: the blind estimate of each (fixed) crop.
        self.levels = [estimate_noise_sigma(n.astype(np.float32) / 255.0) for n in self.noisy]

    @torch.inference_mode()
    def __call__(self, model: GRT, device: str, mode: int) -> float:
        """PSNR with the noise level as the app would feed it: the blind estimate of each crop."""
        model.eval()
        scores = []
        for clean, noisy, level in zip(self.clean, self.noisy, self.levels, strict=True):
            x = torch.from_numpy(noisy).permute(2, 0, 1)[None].float().div(255).to(device)
            y = model(x, mode, level).clamp(0, 1)[0].permute(1, 2, 0).mul(255).round().byte().cpu().numpy()
            scores.append(psnr(y, clean))
        return float(np.mean(scores))


def train(opts: Options, log: Callable[[str], None] = print) -> dict[str, object]:
    """Run the recipe on the shared loop; returns a summary (steps, seconds, validation PSNR, output)."""
    if opts.minutes is None and opts.steps is None:
        raise InvalidRequestError("Give --steps, --minutes, or both, so the schedule knows its length.")
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(opts.seed)
    phases = FINETUNE_PHASES if opts.init else PATCH_PHASES
    images = load_folder(opts.data, min_side=max(p for _, p, _ in phases))
    sampler = PatchSampler(images, DegradationMix(), seed=opts.seed, scales=SCALES)
    validators = [Validator(Path(v)) for v in opts.val]
    model = GRT(opts.config).to(device)
    if opts.init:
        _init_from(model, opts.init, opts.config)
        log(f"starting from the weights in {opts.init}")
    model = model.to(memory_format=memory_format(device))

    def draw(rng: np.random.Generator, progress: float) -> tuple[torch.Tensor, ...]:
        sampler.rng = rng  # the loop's generator: the data order is in its checkpoints
        patch, batch = phase_at(progress, phases)
        return sampler.batch(batch, patch)

    def validate(ema: torch.nn.Module, device: str) -> dict[str, float]:
        entry: dict[str, float] = {}
        for v in validators:
            entry[f"{v.name}_psnr25_denoise"] = v(ema, device, MODE_DENOISE)  # type: ignore[arg-type]
            entry[f"{v.name}_psnr25_all"] = v(ema, device, MODE_ALL)  # type: ignore[arg-type]
        return entry

    recipe = RestorationRecipe(
        model, draw, device, lr=opts.lr, warmup=opts.warmup, clip=0.5, validators=[validate]
    )
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
    loop = Loop(recipe, config, [_Log(log, opts.log_every, phases, config)])
    if opts.resume and ckpt_path.is_file():
        log(f"resuming from {ckpt_path}")
    log(
        f"recipe {NAME}: {len(images)} images, {sum(p.numel() for p in model.parameters()) / 1e6:.3f} M "
        f"parameters, device {device}, {hardware()}, {'bf16 autocast' if loop.bf16 else 'fp32'}"
    )
    if opts.compare_precision:
        rates = compare_precision(model, sampler, device, phases[-1][1:])
        shown = ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
        log(f"steps per second at the last phase's patches: {shown}")
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


class _Log(Observer):
    """The recipe's log lines: a smoothed loss every ``every`` steps, validations, the resume."""

    def __init__(
        self,
        log: Callable[[str], None],
        every: int,
        phases: Sequence[tuple[float, int, int]],
        config: LoopConfig,
    ) -> None:
        self.log, self.every, self.phases, self.config = log, every, phases, config
        self.loss: float | None = None
        self.first = True

    def step(
        self,
        step: int,
        steps: int | None,
        losses: dict[str, float],
        lr: float,
        rate: float,
        seconds_left: float | None,
    ) -> None:
        if self.first and step > 1:
            self.log(f"resumed at step {step - 1}")
        self.first = False
        loss = losses["loss"]
        self.loss = loss if self.loss is None else 0.98 * self.loss + 0.02 * loss
        if step % self.every == 0:
            patch, batch = phase_at(step / steps if steps else 0.0, self.phases)
            self.log(f"step {step} patch {patch} batch {batch} lr {lr:.2e} loss {self.loss:.5f}")

    def validated(self, step: int, numbers: dict[str, float]) -> None:
        names = sorted({k.rsplit("_psnr25_", 1)[0] for k in numbers})
        parts = [
            f"{n} denoise {numbers[f'{n}_psnr25_denoise']:.2f} dB, all {numbers[f'{n}_psnr25_all']:.2f} dB"
            for n in names
        ]
        self.log(f"val step {step}: PSNR σ25 " + "; ".join(parts))


def _init_from(model: GRT, path: Path, config: GRTConfig) -> None:
    """Load ``path`` into ``model``; a file without the noise-level input gets it at zero (exact)."""
    start_model, _ = load_weights(path)
    if start_model.config != config and start_model.config != GRTConfig(
        **{**config.to_dict(), "noise_level": False}
    ):
        raise InvalidRequestError(
            f"{path.name} is a {start_model.config} network, not the recipe's {config}."
        )
    missing = model.load_state_dict(start_model.state_dict(), strict=False).missing_keys
    if any(not k.startswith("noise_") for k in missing):
        raise InvalidRequestError(f"{path.name} lacks tensors the recipe's network needs: {missing[:3]}")


def compare_precision(
    model: GRT, sampler: PatchSampler, device: str, phase: tuple[int, int]
) -> dict[str, float]:
    """Steps per second of the loop's training step in fp32 and in bf16 autocast, on a copy of the
    model, for the model card."""
    patch, batch = phase
    rates = {}
    for name in ("fp32", "bf16"):
        trial = RestorationRecipe(
            copy.deepcopy(model), lambda rng, p: sampler.batch(batch, patch), device, lr=1e-5, warmup=0
        )
        loop = Loop(trial, LoopConfig(steps=1, precision=name, device=device))
        rates[name] = steps_per_second(lambda lp=loop: lp.train_step(0.5))
    return rates


def options_from_args(args: argparse.Namespace) -> Options:
    run_dir = args.run_dir or (checkpoints_dir() / NAME)
    return Options(
        data=args.data,
        out=args.out or (run_dir / "grt-restoration.safetensors"),
        run_dir=run_dir,
        minutes=args.minutes,
        steps=args.steps,
        seed=args.seed,
        threads=args.threads,
        val=args.val or (),
        init=args.init,
        val_every=args.val_every,
        resume=args.resume,
        precision=args.precision,
        compare_precision=args.compare_precision,
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
