"""Fine-tuning proof: the shipped denoiser tuned to a camera noise it was not trained for.

The domain: strong signal-dependent camera noise (Poisson-Gaussian with shot 0.30, read 0.04 and
chroma blotches 0.10, beyond the shipped recipe's ranges of 0.2 / 0.06 / 0.08), as a dim-light
phone photo has. Half of McMaster (the first 9 pictures, sorted) is the photographer's folder: the
clean pictures and the same pictures with that noise, as pairs (``--damaged``). The other half,
with the same kind of noise drawn with another seed, is only for measuring. The fine-tune is
``gptstudio train --task denoise --damaged ...`` as a user runs it (``finetune.run``), on the CPU;
both models are then run through the denoise task, as the app runs them (noise level estimated),
on 256 px centre crops of the held-out half, and PSNR is computed against the clean crops.

The LoRA figure is speed only: training steps per second of a LoRA on a small random SD3 MMDiT
(random latents and caption embeddings; no pipeline is needed to time the Transformer step), in
fp32 and in bf16 autocast, through the same loop as every recipe.

Usage: ``python benchmarks/bench_finetune.py [--steps 300] [--no-write]``; writes the section
``finetune`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._restoration_common import load_set, psnr, to_uint8
from benchmarks.report import machine_line, markdown_table, write_section

SHOT, READ, CHROMA = 0.30, 0.04, 0.10
CROP = 256


def camera(img: np.ndarray, seed: int) -> np.ndarray:
    from gptstudio.training.degrade import camera_noise

    return camera_noise(img, np.random.default_rng(seed), shot=SHOT, read=READ, chroma=CHROMA)


def centre(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = (h - CROP) // 2, (w - CROP) // 2
    return np.ascontiguousarray(img[y : y + CROP, x : x + CROP])


def denoise_psnr(model: str, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """Mean PSNR of the denoise task with ``model`` on (clean, noisy) crops, and its seconds."""
    from gptstudio import tasks
    from gptstudio.core.imagedata import from_array
    from gptstudio.tasks import DenoiseRequest

    scores, start = [], time.perf_counter()
    for clean, noisy in pairs:
        result = tasks.run(DenoiseRequest(image=from_array(noisy.astype(np.float32) / 255.0), model=model))
        scores.append(psnr(to_uint8(result.image.rgb), clean))
    return float(np.mean(scores)), time.perf_counter() - start


def finetune_rows(steps: int, work: Path) -> tuple[list[list[object]], dict[str, object]]:
    from PIL import Image

    from gptstudio.training import finetune
    from gptstudio.training.runs import Settings

    pictures = load_set("McMaster")
    train, test = pictures[:9], pictures[9:]
    clean_dir, noisy_dir = work / "clean", work / "noisy"
    clean_dir.mkdir()
    noisy_dir.mkdir()
    for i, (name, img) in enumerate(train):
        Image.fromarray(img).save(clean_dir / f"{Path(name).stem}.png")
        Image.fromarray(camera(img, 100 + i)).save(noisy_dir / f"{Path(name).stem}.png")
    held_out = [(centre(img), centre(camera(img, 900 + i))) for i, (_, img) in enumerate(test)]
    settings = Settings(
        task="denoise", data=str(clean_dir), damaged=str(noisy_dir), name="bench-camera", preset="quick",
        steps=steps, crop=64, batch=8, lr=2e-4,
    )  # fmt: skip
    start = time.perf_counter()
    done = finetune.run(settings, log=lambda msg: print(msg, flush=True))
    wall = time.perf_counter() - start
    noisy = float(np.mean([psnr(n, c) for c, n in held_out]))
    base, base_s = denoise_psnr("grt-restoration", held_out)
    tuned, tuned_s = denoise_psnr(str(done["model_id"]), held_out)
    rows = [
        ["noisy input", f"{noisy:.2f}", "", ""],
        ["shipped GRT (grt-restoration)", f"{base:.2f}", "", f"{base_s:.1f}"],
        [f"fine-tuned, {steps} steps", f"{tuned:.2f}", f"{tuned - base:+.2f}", f"{tuned_s:.1f}"],
    ]
    return rows, {"wall": wall, "train_seconds": done["seconds"], "gain": tuned - base}


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
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        os.environ["GPTSTUDIO_DATA_DIR"] = str(Path(tmp) / "userdata")
        rows, info = finetune_rows(args.steps, Path(tmp))
    lora = lora_rows()
    from gptstudio.core.device import cpu_has_bf16

    md = "\n".join(
        [
            "## Fine-tuning on a folder of photos (`benchmarks/bench_finetune.py`)",
            "",
            f"Machine: {machine_line()}. CPU only, {torch.get_num_threads()} threads; "
            f"bf16 autocast {'on (the CPU has bf16 units)' if cpu_has_bf16() else 'off'}.",
            "",
            "The shipped denoiser fine-tuned with `gptstudio train --task denoise --damaged` on 9 McMaster "
            f"pictures with strong camera noise (shot {SHOT}, read {READ}, chroma {CHROMA}: beyond the "
            f"shipped recipe's ranges), preset quick, {args.steps} steps, 64 px crops, batch 8. PSNR (dB) "
            f"on {CROP} px centre crops of the other 9 pictures with the same kind of noise (another seed), "
            "through the denoise task as the app runs it.",
            "",
            markdown_table(["model", "PSNR", "vs shipped", "seconds (9 crops)"], rows),
            "",
            f"Fine-tune wall time: {info['wall']:.0f} s in all (folder, estimate, base validation, the loop, "
            f"card and store), of which {float(info['train_seconds']):.0f} s in the training loop "
            f"({args.steps} steps with their previews and checkpoints).",
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
