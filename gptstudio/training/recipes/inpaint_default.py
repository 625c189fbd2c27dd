"""Recipe ``inpaint-default``: how the shipped GIT inpainting weights are made.

Run it as ``gptstudio train --recipe inpaint-default --data ../shared/data/train/CBSD432 --minutes 85``.
Random crops of the folder get random holes (free-form strokes, boxes and object blobs covering
5–50 % of the crop, see ``gptstudio.training.hole_masks``); the generator fills them and learns from

* an L1 reconstruction loss over the whole picture plus a heavier weight inside the hole;
* after a warm-up on L1 alone, a spectral-normalised patch discriminator with the hinge loss,
  mask-aware as in LaMa (patches outside the hole of a fake count as real), and feature matching
  on the discriminator's features. No loss needs pretrained weights we could not ship.

AdamW with a warm-up then cosine learning rate, bf16 autocast with fp32 master weights where the
hardware has bf16 units, small crops first and larger ones last, and an exponential moving average
of the generator's weights, which is what gets exported (fp16 safetensors). Checkpoints (both
networks, the EMA, both optimisers, the step and the random states) go to the user's checkpoint
folder, written atomically, and ``--resume`` continues from the last one.
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
import torch.nn.functional as F

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.device import cpu_name
from gptstudio.core.errors import GptStudioError, InvalidRequestError
from gptstudio.core.paths import checkpoints_dir
from gptstudio.engines.native.inpaint_arch import GIT, GITConfig, PatchDiscriminator
from gptstudio.engines.native.inpaint_io import save
from gptstudio.training.data import downscale, load_folder, random_patch
from gptstudio.training.hole_masks import random_hole
from gptstudio.training.precision import autocast, memory_format, use_bf16
from gptstudio.training.recipes import add_arguments

NAME = "inpaint-default"
CONFIG = GITConfig()
#: (start as a fraction of training, crop size, batch size).
PHASES = ((0.0, 128, 16), (0.5, 256, 8))
#: Fraction of training on L1 alone before the discriminator joins.
GAN_START = 0.3
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


def hardware() -> str:
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    return f"CPU only, no GPU: {cpu_name()}, {torch.get_num_threads()} threads"


class CropSampler:
    """Random crops of in-memory photos (as they are, or downscaled 0.6×) with random holes."""

    def __init__(self, images: list[np.ndarray], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.levels = [images, [downscale(im, 0.6) for im in images]]

    def batch(self, size: int, crop: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(clean N×3×C×C in 0..1, hole N×1×C×C, noise N×1×C×C)."""
        imgs = np.empty((size, crop, crop, 3), np.uint8)
        holes = np.empty((size, 1, crop, crop), np.float32)
        for i in range(size):
            level = self.levels[0] if self.rng.random() < 0.7 else self.levels[1]
            usable = [im for im in level if min(im.shape[:2]) >= crop] or [
                im for im in self.levels[0] if min(im.shape[:2]) >= crop
            ]
            imgs[i] = random_patch(usable[int(self.rng.integers(0, len(usable)))], crop, self.rng)
            holes[i, 0] = random_hole(crop, crop, self.rng)
        noise = self.rng.standard_normal(holes.shape).astype(np.float32)
        clean = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div_(255.0)
        return clean, torch.from_numpy(holes), torch.from_numpy(noise)


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """PSNR in dB of two float 0..1 images, optionally only over ``where`` (H×W bool)."""
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = float(d[where].mean()) if where is not None else float(d.mean())
    return 99.0 if mse == 0 else 10.0 * math.log10(1.0 / mse)


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

    @torch.inference_mode()
    def __call__(self, model: GIT, device: str) -> float:
        model.eval()
        scores = []
        for clean, hole in self.items:
            x = torch.from_numpy(clean).permute(2, 0, 1)[None].to(device)
            m = torch.from_numpy(hole)[None, None].to(device)
            y = model(x, m).clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
            scores.append(psnr(y, clean, hole > 0.5))
        return float(np.mean(scores))


def reconstruction_loss(pred: torch.Tensor, clean: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """L1 over the picture, with the hole weighted ``HOLE_WEIGHT`` times heavier."""
    return ((pred - clean).abs() * (1.0 + HOLE_WEIGHT * hole)).mean()


def _lr(base: float, warmup: int, step: int, progress: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def _phase(progress: float) -> tuple[int, int]:
    crop, batch = PHASES[0][1:]
    for start, c, b in PHASES:
        if progress >= start:
            crop, batch = c, b
    return crop, batch


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
    images = load_folder(opts.data, min_side=max(c for _, c, _ in PHASES))
    sampler = CropSampler(images, opts.seed)
    validators = [Validator(Path(v)) for v in opts.val]
    fmt = memory_format(device)
    gen = GIT(CONFIG).to(device, memory_format=fmt)
    disc = PatchDiscriminator().to(device, memory_format=fmt)
    bf16 = use_bf16(device, opts.precision)
    ema = copy.deepcopy(gen).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    g_opt = torch.optim.AdamW(gen.parameters(), lr=opts.lr, betas=(0.9, 0.99), weight_decay=1e-4)
    d_opt = torch.optim.AdamW(disc.parameters(), lr=opts.d_lr, betas=(0.5, 0.99), weight_decay=0.0)
    opts.run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = opts.run_dir / "last.pt"
    step, elapsed_before = 0, 0.0
    history: list[dict[str, float]] = []
    if opts.resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        gen.load_state_dict(ckpt["gen"])
        disc.load_state_dict(ckpt["disc"])
        ema.load_state_dict(ckpt["ema"])
        g_opt.load_state_dict(ckpt["g_opt"])
        d_opt.load_state_dict(ckpt["d_opt"])
        step, elapsed_before = int(ckpt["step"]), float(ckpt["elapsed"])
        history = list(ckpt.get("history", []))
        sampler.rng.bit_generator.state = ckpt["np_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        log(f"resumed from {ckpt_path} at step {step} ({elapsed_before / 60:.1f} min trained)")
    g_m, d_m = (sum(p.numel() for p in net.parameters()) / 1e6 for net in (gen, disc))
    log(
        f"recipe {NAME}: {len(images)} images, generator {g_m:.2f} M parameters, discriminator "
        f"{d_m:.2f} M, device {device}, {hardware()}, {'bf16 autocast' if bf16 else 'fp32'}"
    )
    start = time.monotonic()
    last_ckpt = last_val = start
    budget = opts.minutes * 60.0 if opts.minutes else None
    avg: dict[str, float] = {}

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
                "gen": gen.state_dict(),
                "disc": disc.state_dict(),
                "ema": ema.state_dict(),
                "g_opt": g_opt.state_dict(),
                "d_opt": d_opt.state_dict(),
                "step": step,
                "elapsed": elapsed(),
                "history": history,
                "np_rng": sampler.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "config": json.dumps(CONFIG.to_dict()),
            },
        )

    def validate() -> None:
        if not validators:
            return
        entry: dict[str, float] = {"step": step, "minutes": elapsed() / 60}
        for v in validators:
            entry[f"{v.name}_hole_psnr"] = v(ema, device)
        history.append(entry)
        log(f"val step {step}: " + ", ".join(f"{k} {v:.2f}" for k, v in entry.items() if k.endswith("psnr")))

    while progress() < 1.0:
        crop, batch = _phase(progress())
        clean, hole, noise = (t.to(device) for t in sampler.batch(batch, crop))
        clean = clean.contiguous(memory_format=fmt)
        p = progress()
        for group in g_opt.param_groups:
            group["lr"] = _lr(opts.lr, opts.warmup, step, p)
        for group in d_opt.param_groups:
            group["lr"] = _lr(opts.d_lr, 0, step, p)
        losses = _step(gen, disc, g_opt, d_opt, (clean, hole, noise), device, bf16, gan=p >= GAN_START)
        decay = min(opts.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), gen.parameters(), strict=True):
                pe.lerp_(pm, 1.0 - decay)
        step += 1
        for k, v in losses.items():
            avg[k] = 0.98 * avg[k] + 0.02 * v if k in avg else v
        if step % opts.log_every == 0:
            shown = " ".join(f"{k} {v:.4f}" for k, v in avg.items())
            log(f"step {step} {elapsed() / 60:.1f} min crop {crop} batch {batch} {shown}")
        now = time.monotonic()
        if now - last_val >= opts.val_every:
            validate()
            last_val = time.monotonic()
        if now - last_ckpt >= opts.checkpoint_every:
            checkpoint()
            last_ckpt = time.monotonic()
    checkpoint()
    validate()
    summary: dict[str, object] = {
        "recipe": NAME,
        "steps": step,
        "wall_seconds": round(elapsed(), 1),
        "hardware": hardware(),
        "data": str(opts.data),
        "precision": "bf16 autocast" if bf16 else "fp32",
        "final_val": history[-1] if history else None,
    }
    meta = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in summary.items()}
    save(ema, opts.out, metadata=meta)
    summary["out"] = str(opts.out)
    log(f"exported EMA weights to {opts.out}: {json.dumps(summary)}")
    return summary


def _step(
    gen: GIT,
    disc: PatchDiscriminator,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    device: str,
    bf16: bool,
    *,
    gan: bool,
) -> dict[str, float]:
    """One generator step (and, with ``gan``, one discriminator step first); returns the losses."""
    clean, hole, noise = batch
    gen.train()
    out: dict[str, float] = {}
    with autocast(device, bf16):
        pred = gen(clean, hole, noise)
    pred = pred.float()
    fake = pred * hole + clean * (1.0 - hole)
    if gan:
        disc.train()
        with autocast(device, bf16):
            real_score, _ = disc(clean, hole)
            fake_score, _ = disc(fake.detach(), hole)
        small = F.interpolate(hole, size=fake_score.shape[-2:], mode="area")
        d_loss = (
            F.relu(1.0 - real_score.float()).mean()
            + (F.relu(1.0 + fake_score.float()) * small).mean()
            + (F.relu(1.0 - fake_score.float()) * (1.0 - small)).mean()
        )
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        out["d"] = d_loss.item()
    rec = reconstruction_loss(pred, clean, hole)
    loss = rec
    out["l1"] = rec.item()
    if gan:
        for p in disc.parameters():
            p.requires_grad_(False)
        with autocast(device, bf16):
            fake_score, fake_feats = disc(fake, hole)
            with torch.no_grad():
                _, real_feats = disc(clean, hole)
        adv = -(fake_score.float() * small).mean()
        fm = sum(
            (f.float() - r.float()).abs().mean() for f, r in zip(fake_feats, real_feats, strict=True)
        ) / len(fake_feats)
        loss = loss + ADV_WEIGHT * adv + FM_WEIGHT * fm
        out["adv"], out["fm"] = adv.item(), float(fm.detach())
        for p in disc.parameters():
            p.requires_grad_(True)
    g_opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(gen.parameters(), 1.0)
    g_opt.step()
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m {__name__}", description=__doc__.splitlines()[0])
    return add_arguments(p)


def options_from_args(args: argparse.Namespace) -> Options:
    run_dir = args.run_dir or (checkpoints_dir() / NAME)
    return Options(
        data=args.data,
        out=args.out or (run_dir / "git-inpaint.safetensors"),
        run_dir=run_dir,
        minutes=args.minutes,
        steps=args.steps,
        lr=args.lr if args.lr != 1e-3 else 5e-4,
        seed=args.seed,
        threads=args.threads,
        val=args.val or (),
        val_every=args.val_every,
        resume=args.resume,
        precision=args.precision,
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run_args(build_parser().parse_args(argv))
    except GptStudioError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


def run_args(args: argparse.Namespace) -> int:
    """Train from parsed options (the entry point of ``gptstudio train`` too)."""

    def log(msg: str) -> None:
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    log("command: " + " ".join(sys.argv))
    train(options_from_args(args), log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
