"""Memory and tiling of the shipped restoration Transformer on the CPU.

1. A 24-megapixel photo (6000×4000, synthetic: smooth shading, edges, texture and σ=15 noise,
   seeded) denoised through the engine's tiling, in a fresh subprocess so that its peak resident
   memory (``resource.getrusage``, ``ru_maxrss``) is the job's alone. The goal is under 3 GB.
2. Tiled against untiled output on a 2-megapixel crop of that photo: the largest difference on the
   0..255 scale (the goal is at most 2/255), with the engine's default tile size and overlap.

Usage: ``python benchmarks/bench_memory.py [--quick] [--weights FILE] [--no-write]``
(``--quick`` uses a 6-megapixel photo and a 0.5-megapixel crop).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._restoration_common import load_ours
from benchmarks.report import machine_line, markdown_table, write_section


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 RGB image built row band by row band, so making it stays cheap."""
    rng = np.random.default_rng(seed)
    out = np.empty((height, width, 3), dtype=np.uint8)
    x = np.arange(width, dtype=np.float32)[None, :]
    for y0 in range(0, height, 500):
        y = np.arange(y0, min(y0 + 500, height), dtype=np.float32)[:, None]
        r = 120 + 80 * np.sin(x / 310 + y / 170)
        g = 100 + 60 * np.cos(x / 97 - y / 260) + 40 * ((x // 400 + y // 400) % 2)
        b = 140 + 50 * np.sin(np.hypot(x - width / 2, y - height / 2) / 45)
        band = np.stack(np.broadcast_arrays(r, g, b), axis=-1)
        band += rng.standard_normal(band.shape, dtype=np.float32) * 15
        out[y0 : y0 + band.shape[0]] = np.clip(np.rint(band), 0, 255).astype(np.uint8)
    return out


def child(megapixels: float, weights: str | None) -> None:
    """Run in the subprocess: denoise one big photo, print a JSON line with time and peak RSS."""
    import resource

    import torch

    from gptstudio.core.progress import TaskState

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    width = round((megapixels * 1e6 * 1.5) ** 0.5)
    height = round(megapixels * 1e6 / width)
    photo = synthetic_photo(height, width)
    engine = load_ours(Path(weights) if weights else None)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rgb = photo.astype(np.float32) / 255.0
    del photo
    out = engine.restore(rgb, strength=1.0, mode="denoise", state=TaskState())
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "width": width,
                "height": height,
                "seconds": seconds,
                "peak_rss_mib": peak / 1024,
                "rss_before_mib": before / 1024,
                "finite": bool(np.isfinite(out).all()),
                "tile": engine.info.tile,
                "overlap": engine.info.overlap,
            }
        )
    )


def tiled_vs_untiled(megapixels: float, weights: Path | None) -> dict[str, float]:
    from gptstudio.core.progress import TaskState

    engine = load_ours(weights)
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(megapixels * 1e6 / width)
    rgb = synthetic_photo(height, width, seed=1).astype(np.float32) / 255.0
    tiled = engine.restore(rgb, strength=1.0, mode="denoise", state=TaskState())
    whole = engine.restore(rgb, strength=1.0, mode="denoise", state=TaskState(), tile=0)
    diff = np.abs(tiled - whole) * 255.0
    diff8 = np.abs(np.rint(tiled * 255.0) - np.rint(whole * 255.0))
    return {
        "width": width,
        "height": height,
        "max_diff_255": float(diff.max()),
        "mean_diff_255": float(diff.mean()),
        "max_diff_8bit": float(diff8.max()),
        "tile": engine.info.tile,
        "overlap": engine.info.overlap,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6-MP photo and 0.5-MP tiling check")
    ap.add_argument("--weights", type=Path, default=None, help="GRT safetensors (default: the shipped one)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        child(args.child, str(args.weights) if args.weights else None)
        return 0
    big = 6.0 if args.quick else 24.0
    small = 0.5 if args.quick else 2.0
    cmd = [sys.executable, __file__, "--child", str(big)]
    if args.weights:
        cmd += ["--weights", str(args.weights)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return 1
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(res)
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    tv = tiled_vs_untiled(small, args.weights)
    print(tv)
    mp = res["width"] * res["height"] / 1e6
    ok_mem = res["peak_rss_mib"] < 3 * 1024
    ok_tile = tv["max_diff_255"] <= 2.0
    rows = [
        [
            f"{res['width']}×{res['height']} ({mp:.1f} MP), tiles {res['tile']} px, overlap {res['overlap']}",
            f"{res['seconds']:.0f}",
            f"{mp / res['seconds']:.3f}",
            f"{res['peak_rss_mib']:.0f}",
            "yes" if ok_mem else "NO",
        ]
    ]
    tv_rows = [
        [
            f"{tv['width']}×{tv['height']} ({tv['width'] * tv['height'] / 1e6:.1f} MP)",
            f"{tv['tile']} / {tv['overlap']}",
            f"{tv['max_diff_255']:.3f}",
            f"{tv['mean_diff_255']:.4f}",
            f"{tv['max_diff_8bit']:.0f}",
            "yes" if ok_tile else "NO",
        ]
    ]
    md = "\n\n".join(
        [
            "## Restoration memory and tiling (CPU)",
            f"Command: `python benchmarks/bench_memory.py{' --quick' if args.quick else ''}`. Machine: "
            f"{machine_line()}. Synthetic photo-like image with σ=15 noise; GRT (ours), fp32, mode=denoise.",
            markdown_table(["photo", "seconds", "MP/s", "peak RSS (MiB)", "under 3 GB"], rows),
            "Tiled (engine default) against one untiled pass, difference on the 0..255 scale:",
            markdown_table(
                ["image", "tile / overlap", "max diff", "mean diff", "max diff (8-bit out)", "≤ 2/255"],
                tv_rows,
            ),
        ]
    )
    print(md)
    if not args.no_write:
        write_section("restoration-memory", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
