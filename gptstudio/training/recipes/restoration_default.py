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
import io
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.device import cpu_name
from gptstudio.core.errors import GptStudioError, InvalidRequestError
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.core.paths import checkpoints_dir
from gptstudio.engines.native.arch import GRT, GRTConfig
from gptstudio.engines.native.io import load as load_weights
from gptstudio.engines.native.io import save
from gptstudio.training.data import PatchSampler, load_folder
from gptstudio.training.degrade import MODE_ALL, MODE_DENOISE, DegradationMix, gaussian_noise
from gptstudio.training.noise_levels import label_noise_levels
from gptstudio.training.precision import autocast, memory_format, steps_per_second, use_bf16
from gptstudio.training.recipes import add_arguments

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


def hardware() -> str:
    """Where the training ran, for the model card."""
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    return f"CPU only, no GPU: {cpu_name()}, {torch.get_num_threads()} threads"


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """A smooth L1 loss: robust like L1 (sharper results than L2), differentiable at zero."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


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


def _phase(progress: float, phases: Sequence[tuple[float, int, int]] = PATCH_PHASES) -> tuple[int, int]:
    patch, batch = phases[0][1:]
    for start, p, b in phases:
        if progress >= start:
            patch, batch = p, b
    return patch, batch


def _lr(opts: Options, step: int, progress: float) -> float:
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    return opts.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def _save_checkpoint(path: Path, state: dict[str, object]) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def train(opts: Options, log: Callable[[str], None] = print) -> dict[str, object]:
    """Run the recipe; returns a summary (steps, seconds, validation PSNR, output path)."""
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
    bf16 = use_bf16(device, opts.precision)
    model = model.to(memory_format=memory_format(device))
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    optim = torch.optim.AdamW(model.parameters(), lr=opts.lr, betas=(0.9, 0.99), weight_decay=1e-4)
    opts.run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = opts.run_dir / "last.pt"
    step, elapsed_before = 0, 0.0
    history: list[dict[str, float]] = []
    if opts.resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        optim.load_state_dict(ckpt["optim"])
        step, elapsed_before = int(ckpt["step"]), float(ckpt["elapsed"])
        history = list(ckpt.get("history", []))
        sampler.rng = np.random.default_rng([opts.seed, step])
        log(f"resumed from {ckpt_path} at step {step} ({elapsed_before / 60:.1f} min trained)")
    log(
        f"recipe {NAME}: {len(images)} images, {sum(p.numel() for p in model.parameters()) / 1e6:.3f} M "
        f"parameters, device {device}, {hardware()}, {'bf16 autocast' if bf16 else 'fp32'}"
    )
    if opts.compare_precision:
        rates = _compare_precision(model, sampler, device, phases[-1][1:])
        shown = ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
        log(f"steps per second at the last phase's patches: {shown}")
    start = time.monotonic()
    last_ckpt = last_val = start
    budget = opts.minutes * 60.0 if opts.minutes else None
    loss_avg = 0.0

    def elapsed() -> float:
        return elapsed_before + time.monotonic() - start

    def progress() -> float:
        parts = []
        if opts.steps:
            parts.append(step / opts.steps)
        if budget:
            parts.append(elapsed() / budget)
        return max(parts)

    def checkpoint() -> None:
        _save_checkpoint(
            ckpt_path,
            {
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optim": optim.state_dict(),
                "step": step,
                "elapsed": elapsed(),
                "history": history,
                "config": json.dumps(opts.config.to_dict()),
            },
        )

    def validate() -> None:
        if not validators:
            return
        minutes = elapsed() / 60
        entry: dict[str, float] = {"step": step, "minutes": minutes}
        parts = []
        for v in validators:
            v_den, v_all = v(ema, device, MODE_DENOISE), v(ema, device, MODE_ALL)
            entry[f"{v.name}_psnr25_denoise"], entry[f"{v.name}_psnr25_all"] = v_den, v_all
            parts.append(f"{v.name} denoise {v_den:.2f} dB, all {v_all:.2f} dB")
        history.append(entry)
        log(f"val step {step} {minutes:.1f} min: PSNR σ25 " + "; ".join(parts))

    while progress() < 1.0:
        patch, batch = _phase(progress(), phases)
        noisy, clean, modes = sampler.batch(batch, patch)
        levels = label_noise_levels(noisy, clean, sampler.rng)
        noisy = noisy.to(device, memory_format=memory_format(device))
        clean, modes, levels = clean.to(device), modes.to(device), levels.to(device)
        for group in optim.param_groups:
            group["lr"] = _lr(opts, step, progress())
        loss = _step(model, optim, (noisy, clean, modes, levels), device, bf16)
        decay = min(opts.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.lerp_(pm, 1.0 - decay)
        step += 1
        loss_avg = 0.98 * loss_avg + 0.02 * loss.item() if step > 1 else loss.item()
        if step % opts.log_every == 0:
            log(
                f"step {step} {elapsed() / 60:.1f} min patch {patch} batch {batch} "
                f"lr {optim.param_groups[0]['lr']:.2e} loss {loss_avg:.5f}"
            )
        now = time.monotonic()
        if now - last_val >= opts.val_every:
            validate()
            last_val = time.monotonic()
        if now - last_ckpt >= opts.checkpoint_every:
            checkpoint()
            last_ckpt = time.monotonic()
    checkpoint()
    validate()
    seconds = elapsed()
    summary: dict[str, object] = {
        "recipe": NAME,
        "steps": step,
        "wall_seconds": round(seconds, 1),
        "hardware": hardware(),
        "data": str(opts.data),
        "init": opts.init.name if opts.init else None,
        "precision": "bf16 autocast" if bf16 else "fp32",
        "final_val": history[-1] if history else None,
    }
    meta = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in summary.items()}
    save(ema, opts.out, metadata=meta)
    summary["out"] = str(opts.out)
    log(f"exported EMA weights to {opts.out}: {json.dumps(summary)}")
    return summary


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


def _step(
    model: GRT,
    optim: torch.optim.Optimizer,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    device: str,
    bf16: bool,
) -> torch.Tensor:
    """One optimiser step on (damaged, clean, modes, noise levels); returns the loss."""
    noisy, clean, modes, levels = batch
    model.train()
    with autocast(device, bf16):
        pred = model(noisy, modes, levels)
    loss = charbonnier(pred.float(), clean)
    optim.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    optim.step()
    return loss


def _compare_precision(
    model: GRT, sampler: PatchSampler, device: str, phase: tuple[int, int]
) -> dict[str, float]:
    """Steps per second of the training step in fp32 and in bf16 autocast, on a copy of the model,
    for the model card."""
    patch, batch = phase
    noisy, clean, modes = sampler.batch(batch, patch)
    levels = torch.full((batch,), 25.0)
    noisy = noisy.to(device, memory_format=memory_format(device))
    data = (noisy, clean.to(device), modes.to(device), levels.to(device))
    rates = {}
    for name, enabled in (("fp32", False), ("bf16", True)):
        trial = copy.deepcopy(model)
        optim = torch.optim.AdamW(trial.parameters(), lr=1e-5)
        rates[name] = steps_per_second(lambda t=trial, o=optim, e=enabled: _step(t, o, data, device, e))
    return rates


def build_parser() -> argparse.ArgumentParser:
    """The recipe's command-line options (``python -m gptstudio.training.recipes.restoration_default``)."""
    p = argparse.ArgumentParser(prog=f"python -m {__name__}", description=__doc__.splitlines()[0])
    return add_arguments(p)


def options_from_args(args: argparse.Namespace) -> Options:
    run_dir = args.run_dir or (checkpoints_dir() / NAME)
    return Options(
        data=args.data,
        out=args.out or (run_dir / "grt-restoration.safetensors"),
        run_dir=run_dir,
        minutes=args.minutes,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        val=args.val or (),
        init=args.init,
        val_every=args.val_every,
        resume=args.resume,
        precision=args.precision,
        compare_precision=args.compare_precision,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, train, export; returns the exit status."""
    try:
        return run_args(build_parser().parse_args(argv))
    except GptStudioError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


def run_args(args: argparse.Namespace) -> int:
    """Train from parsed options (the entry point of ``gptstudio train`` too)."""
    if args.minutes is None and args.steps is None:
        raise InvalidRequestError("Give --steps, --minutes, or both, so the schedule knows its length.")

    def log(msg: str) -> None:
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    log("command: " + " ".join(sys.argv))
    train(options_from_args(args), log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
