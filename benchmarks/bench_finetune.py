"""Fine-tuning proof: the shipped denoiser tuned to camera noise it was not trained for.

Two domains, each applied to McMaster (a set the shipped model never saw in training):

- *camera*: strong signal-dependent camera noise (Poisson-Gaussian with shot 0.30, read 0.04 and
  chroma blotches 0.10, beyond the shipped recipe's ranges of 0.2 / 0.06 / 0.08), as a dim-light
  phone photo has;
- *camera + JPEG*: the same noise, then saved as JPEG at quality 60, as a phone or a messenger
  app stores that photo (the shipped recipe compresses only lightly noisy pictures, Gaussian
  σ ≤ 10, never strong camera noise).

Half of McMaster (the first 9 pictures, sorted) is the photographer's folder: the clean pictures
and the same pictures with the damage, as pairs (``--damaged``). The other half, damaged the same
way with other seeds, is only for measuring. The fine-tune is ``gptstudio train --task denoise
--damaged ... --preset balanced --steps N`` as a user runs it (``finetune.run``), on the CPU; the
models are then run through the tasks as the app runs them (noise level estimated) on 256 px
centre crops of the held-out half, and PSNR is computed against the clean crops. The shipped model
is measured both as a denoiser and through Restore with "all damage", its best setting for mixed
damage, so the comparison is with the best the shipped model can do.

The LoRA figure is speed only: training steps per second of a LoRA on a small random SD3 MMDiT
(random latents and caption embeddings; no pipeline is needed to time the Transformer step), in
fp32 and in bf16 autocast, through the same loop as every recipe.

Usage: ``python benchmarks/bench_finetune.py [--steps 600] [--no-write]``; writes the section
``finetune`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._restoration_common import load_set, psnr, to_uint8
from benchmarks.report import machine_line, markdown_table, write_section

SHOT, READ, CHROMA = 0.30, 0.04, 0.10
JPEG_QUALITY = 60
CROP = 256
PRESET = "balanced"


def camera(img: np.ndarray, seed: int) -> np.ndarray:
    from gptstudio.training.degrade import camera_noise

    return camera_noise(img, np.random.default_rng(seed), shot=SHOT, read=READ, chroma=CHROMA)


def camera_jpeg(img: np.ndarray, seed: int) -> np.ndarray:
    from gptstudio.training.degrade import jpeg

    return jpeg(camera(img, seed), JPEG_QUALITY)


DOMAINS: dict[str, tuple[str, Callable[[np.ndarray, int], np.ndarray]]] = {
    "camera": (f"camera noise (shot {SHOT}, read {READ}, chroma {CHROMA})", camera),
    "camera-jpeg": (f"the same camera noise, then JPEG quality {JPEG_QUALITY}", camera_jpeg),
}


def centre(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = (h - CROP) // 2, (w - CROP) // 2
    return np.ascontiguousarray(img[y : y + CROP, x : x + CROP])


def task_psnr(
    model: str, pairs: list[tuple[np.ndarray, np.ndarray]], restore: bool = False
) -> tuple[float, float]:
    """Mean PSNR of the denoise task (or Restore, all damage) with ``model`` on (clean, damaged)
    crops, and its seconds."""
    from gptstudio import tasks
    from gptstudio.core.imagedata import from_array
    from gptstudio.tasks import DenoiseRequest, RestoreRequest

    scores, start = [], time.perf_counter()
    for clean, damaged in pairs:
        image = from_array(damaged.astype(np.float32) / 255.0)
        request = (
            RestoreRequest(image=image, model=model, mode="all")
            if restore
            else DenoiseRequest(image=image, model=model)
        )
        scores.append(psnr(to_uint8(tasks.run(request).image.rgb), clean))
    return float(np.mean(scores)), time.perf_counter() - start


def finetune_rows(domain: str, steps: int, work: Path) -> tuple[list[list[object]], dict[str, float]]:
    from PIL import Image

    from gptstudio.training import finetune
    from gptstudio.training.runs import Settings

    label, damage = DOMAINS[domain]
    pictures = load_set("McMaster")
    train, test = pictures[:9], pictures[9:]
    clean_dir, damaged_dir = work / domain / "clean", work / domain / "damaged"
    clean_dir.mkdir(parents=True)
    damaged_dir.mkdir()
    for i, (name, img) in enumerate(train):
        Image.fromarray(img).save(clean_dir / f"{Path(name).stem}.png")
        Image.fromarray(damage(img, 100 + i)).save(damaged_dir / f"{Path(name).stem}.png")
    held_out = [(centre(img), centre(damage(img, 900 + i))) for i, (_, img) in enumerate(test)]
    settings = Settings(
        task="denoise", data=str(clean_dir), damaged=str(damaged_dir), name=f"bench-{domain}", preset=PRESET,
        steps=steps,
    )  # fmt: skip
    start = time.perf_counter()
    done = finetune.run(settings, log=lambda msg: print(msg, flush=True))
    wall = time.perf_counter() - start
    damaged = float(np.mean([psnr(d, c) for c, d in held_out]))
    base, base_s = task_psnr("grt-restoration", held_out)
    base_all, _ = task_psnr("grt-restoration", held_out, restore=True)
    tuned, tuned_s = task_psnr(str(done["model_id"]), held_out)
    best_base = max(base, base_all)
    rows = [
        [label, "damaged input", f"{damaged:.2f}", "", ""],
        ["", "shipped GRT, Denoise", f"{base:.2f}", "", f"{base_s:.1f}"],
        ["", "shipped GRT, Restore (all damage)", f"{base_all:.2f}", "", ""],
        [
            "",
            f"fine-tuned, {steps} steps, Denoise",
            f"**{tuned:.2f}**",
            f"{tuned - best_base:+.2f}",
            f"{tuned_s:.1f}",
        ],
    ]
    return rows, {"wall": wall, "train_seconds": float(done["seconds"]), "gain": tuned - best_base}


def lora_rows(steps: int = 20) -> list[list[object]]:
    """Steps per second of a LoRA step on a small random SD3 MMDiT, fp32 and bf16 autocast."""
    from diffusers import SD3Transformer2DModel
    from peft import LoraConfig

    from gptstudio.training.finetune_lora import RANK, TARGETS, LoraRecipe
    from gptstudio.training.loop import Loop, LoopConfig
    from gptstudio.training.precision import steps_per_second

    rows = []
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        net = SD3Transformer2DModel(
            sample_size=32, patch_size=2, in_channels=16, num_layers=4, attention_head_dim=32,
            num_attention_heads=4, caption_projection_dim=128, joint_attention_dim=128,
            pooled_projection_dim=128, out_channels=16,
        )  # fmt: skip
        net.requires_grad_(False)
        net.add_adapter(
            LoraConfig(r=RANK, lora_alpha=RANK, init_lora_weights="gaussian", target_modules=list(TARGETS))
        )
        latents = torch.randn(8, 16, 32, 32)
        embeds = [(torch.randn(1, 32, 128), torch.randn(1, 128)) for _ in range(8)]
        recipe = LoraRecipe(net, latents, embeds, "cpu", lr=1e-4, warmup=1, batch=2)
        loop = Loop(recipe, LoopConfig(steps=steps, ema=None, precision=precision))
        rate = steps_per_second(lambda lp=loop: lp.train_step(0.5), steps=steps, warmup=3)
        trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
        total = sum(p.numel() for p in net.parameters())
        rows.append([precision, f"{rate:.2f}", f"{trainable / 1e3:.0f} k of {total / 1e6:.2f} M"])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows: list[list[object]] = []
    walls: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        os.environ["GPTSTUDIO_DATA_DIR"] = str(Path(tmp) / "userdata")
        for domain in DOMAINS:
            domain_rows, info = finetune_rows(domain, args.steps, Path(tmp))
            rows += domain_rows
            walls.append(f"{domain}: {info['wall']:.0f} s in all, {info['train_seconds']:.0f} s in the loop")
    lora = lora_rows()
    from gptstudio.core.device import cpu_has_bf16
    from gptstudio.training.presets import preset

    p = preset("denoise", PRESET)
    md = "\n".join(
        [
            "## Fine-tuning on a folder of photos (`benchmarks/bench_finetune.py`)",
            "",
            f"Machine: {machine_line()}. CPU only, {torch.get_num_threads()} threads; "
            f"bf16 autocast {'on (the CPU has bf16 units)' if cpu_has_bf16() else 'off'}.",
            "",
            "The shipped denoiser fine-tuned with `gptstudio train --task denoise --damaged` on 9 McMaster "
            "pictures with damage the shipped recipe never drew (strong camera noise beyond its ranges; that "
            "noise saved as JPEG, as phones store it; the recipe compresses only lightly noisy pictures), "
            f"preset {PRESET} with {args.steps} steps ({p.crop} px crops, batch {p.batch}, learning rate "
            f"{p.lr:g}). PSNR (dB) on {CROP} px centre crops of the other "
            "9 pictures with the same damage (other seeds), through the tasks as the app runs them; "
            '"vs shipped" is against the better of the shipped model\'s two settings.',
            "",
            markdown_table(["domain", "model", "PSNR", "vs shipped", "seconds (9 crops)"], rows),
            "",
            "Fine-tune wall time (folder, estimate, base validation, the loop with previews and checkpoints, "
            f"card and store): {'; '.join(walls)}.",
            "",
            "LoRA step speed (rank 8 on the attention projections of a random 4-layer SD3 MMDiT, 32×32×16 "
            "latents, batch 2, 32 caption tokens), through the shared loop:",
            "",
            markdown_table(["precision", "steps/s", "trainable"], lora),
        ]
    )
    print(md)
    if not args.no_write:
        write_section("finetune", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
