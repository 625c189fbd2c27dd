"""CPU speed of the shipped restoration Transformer beside OpenCV NLM and three published networks.

Everything runs in one process on the same 1-megapixel image (1024×1024), so the ratios hold even
where the absolute numbers depend on the machine:

* GRT (ours) through the engine as a user runs it (its default tiles), and as bare network
  forwards on 256-px tiles;
* OpenCV ``fastNlMeansDenoisingColored`` (the classical engine, h=10, 7/21 windows);
* SwinIR-M (colour denoising: embed 180, 6×6 blocks, window 8), SCUNet (dim 64, config 4×7) and
  DRUNet (colour: 64-128-256-512, 4 blocks, noise-map input) built through spandrel at their published
  sizes with random weights — only speed is compared. They run on the same 256-px tiles; where a
  model is slow, only the first tiles within ``--budget`` seconds are timed and the rate is
  extrapolated from them (the table says how many).

FLOPs per pixel are counted with ``torch.utils.flop_counter.FlopCounterMode`` on a 128×128 input;
achieved GFLOP/s is compared with a large fp32 matrix multiply timed in the same run.

Usage: ``python benchmarks/bench_speed.py [--quick] [--weights FILE] [--no-write]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._restoration_common import add_noise, load_ours, load_set
from benchmarks.report import machine_line, markdown_table, write_section
from benchmarks.timing import best_of, matmul_gflops

SIDE = 1024
TILE = 256


def test_image() -> np.ndarray:
    """A 1024×1024 noisy photo: a bench image mirrored to size, with σ=25 noise (seeded)."""
    _, img = load_set("McMaster", 1)[0]
    reps = (SIDE // img.shape[0] + 1, SIDE // img.shape[1] + 1, 1)
    big = np.tile(np.concatenate([img, img[::-1]], axis=0), reps)[:SIDE, :SIDE]
    return add_noise(np.ascontiguousarray(big), 25, 7)


def flops_per_pixel(model: torch.nn.Module, channels: int, side: int = 128) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(1, channels, side, side)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / side / side


def tiles_rate(
    forward: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, budget: float
) -> tuple[float, int]:
    """Megapixels per second over 256-px tiles of the image; returns (rate, tiles timed)."""
    starts = range(0, SIDE, TILE)
    tiles = [image[:, :, y : y + TILE, x : x + TILE] for y in starts for x in starts]
    with torch.inference_mode():
        forward(tiles[0][:, :, :64, :64])  # warm-up (kernel selection), small: SwinIR is slow
        spent, done = 0.0, 0
        for t in tiles:
            spent += best_of(lambda t=t: forward(t), 1)
            done += 1
            if spent > budget:
                break
    return done * TILE * TILE / spent / 1e6, done


def reference_models() -> dict[str, tuple[torch.nn.Module, int]]:
    """The published networks at their published sizes (random weights) and their input channels."""
    from spandrel.architectures.DRUNet import DRUNet
    from spandrel.architectures.SCUNet import SCUNet
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    swinir = SwinIR(
        img_size=128,
        in_chans=3,
        window_size=8,
        img_range=1.0,
        depths=[6, 6, 6, 6, 6, 6],
        embed_dim=180,
        num_heads=[6, 6, 6, 6, 6, 6],
        mlp_ratio=2,
        upscale=1,
        upsampler="",
        resi_connection="1conv",
    )
    scunet = SCUNet(in_nc=3, config=[4, 4, 4, 4, 4, 4, 4], dim=64)
    drunet = DRUNet(in_nc=4, out_nc=3, nc=[64, 128, 256, 512], nb=4, act_mode="R")
    return {"SwinIR-M": (swinir.eval(), 3), "SCUNet": (scunet.eval(), 3), "DRUNet": (drunet.eval(), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter time budget for the slow networks")
    ap.add_argument("--budget", type=float, default=None, help="seconds of timing per reference network")
    ap.add_argument("--weights", type=Path, default=None, help="GRT safetensors (default: the shipped one)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args(argv)
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    budget = args.budget or (10.0 if args.quick else 40.0)
    from gptstudio.core.progress import TaskState

    noisy = test_image()
    rgb = noisy.astype(np.float32) / 255
    peak = matmul_gflops()
    print(f"fp32 matmul 2048³: {peak:.1f} GFLOP/s")
    rows: list[list[object]] = []

    engine = load_ours(args.weights)
    ours_fpp = flops_per_pixel(engine.model, 3)
    engine.restore(rgb[:256, :256], strength=1.0, mode="denoise", state=TaskState())  # warm-up
    t_engine = best_of(lambda: engine.restore(rgb, strength=1.0, mode="denoise", state=TaskState()), 2)
    mp = SIDE * SIDE / 1e6
    rows.append(
        [
            f"GRT (ours), engine, {engine.info.tile}-px tiles",
            f"{mp / t_engine:.3f}",
            f"{t_engine:.2f}",
            f"{ours_fpp / 1e3:.1f}",
            f"{ours_fpp * mp / t_engine / 1e3:.1f}",
            f"{ours_fpp * mp / t_engine / 1e3 / peak:.0%}",
            "whole image, as `gptstudio denoise` runs it",
        ]
    )
    print(rows[-1])
    x = torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None]
    rate, n = tiles_rate(lambda t: engine.model(t, 3), x, budget)
    rates = {"GRT (ours)": rate}
    rows.append(
        [
            "GRT (ours), bare network, 256-px tiles",
            f"{rate:.3f}",
            f"{mp / rate:.2f}",
            f"{ours_fpp / 1e3:.1f}",
            f"{ours_fpp * rate / 1e3:.1f}",
            f"{ours_fpp * rate / 1e3 / peak:.0%}",
            f"{n}/16 tiles",
        ]
    )
    print(rows[-1])

    cv2.setNumThreads(threads)
    t_nlm = best_of(lambda: cv2.fastNlMeansDenoisingColored(noisy, None, 10, 10, 7, 21), 2)
    nlm_name = "OpenCV fastNlMeansDenoisingColored"
    rows.append([nlm_name, f"{mp / t_nlm:.3f}", f"{t_nlm:.2f}", "-", "-", "-", "full image"])
    print(rows[-1])

    for name, (model, channels) in reference_models().items():
        fpp = flops_per_pixel(model, channels)
        params = sum(p.numel() for p in model.parameters()) / 1e6

        def forward(t: torch.Tensor, model: torch.nn.Module = model, channels: int = channels) -> object:
            if channels == 4:  # DRUNet takes the noise level as a fourth channel
                t = torch.cat([t, torch.full_like(t[:, :1], 25 / 255)], dim=1)
            return model(t)

        rate, n = tiles_rate(forward, x, budget)
        rates[name] = rate
        rows.append(
            [
                f"{name} ({params:.1f} M params, random weights)",
                f"{rate:.4f}",
                f"{mp / rate:.1f}",
                f"{fpp / 1e3:.1f}",
                f"{fpp * rate / 1e3:.1f}",
                f"{fpp * rate / 1e3 / peak:.0%}",
                f"{n}/16 tiles" + (" (extrapolated)" if n < 16 else ""),
            ]
        )
        print(rows[-1])

    ours = rates["GRT (ours)"]
    ratio = [
        f"- Same 256-px tiles: GRT is {ours / rates[k]:.1f}× faster than {k}; through the engine (whole "
        f"image) {mp / t_engine / rates[k]:.1f}× faster"
        for k in ("SwinIR-M", "SCUNet", "DRUNet")
    ]
    faster = all(min(ours, mp / t_engine) > rates[k] for k in ("SwinIR-M", "SCUNet", "DRUNet"))
    md = "\n\n".join(
        [
            "## Restoration speed on the CPU (1-megapixel image)",
            f"Command: `python benchmarks/bench_speed.py{' --quick' if args.quick else ''}`. Machine: "
            f"{machine_line()}; torch {torch.__version__} with {threads} threads, fp32. A 2048³ fp32 matrix "
            f"multiply reaches **{peak:.1f} GFLOP/s** in the same run.",
            markdown_table(
                ["method", "MP/s", "s per MP", "kFLOP/pixel", "GFLOP/s", "of matmul", "timed"], rows
            ),
            "\n".join(ratio)
            + ("\n- GRT is faster than all three." if faster else "\n- GRT is NOT faster than all three."),
        ]
    )
    print(md)
    if not args.no_write:
        write_section("restoration-speed", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
