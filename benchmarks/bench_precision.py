"""The shipped denoiser's speed in fp32 and bf16 against this machine's ceiling and against NLM.

The restoration issue's speed goals, measured in one run:

* the ceiling: a 2048³ matrix multiply in fp32 and in bf16 (AMX / AVX512-BF16 where the CPU has
  them), so every achieved GFLOP/s can be read as a share of what the machine can do;
* GRT as a bare network on one engine-sized tile, and through the engine on a 1-MP photo, in each
  precision the CPU supports (the engine's overhead is the gap between the two);
* a 12-MP photo through ``gptstudio denoise`` as a user runs it (process start, decode, model,
  encode), with the shipped model in the default precision and in fp32, beside the same command
  with OpenCV's non-local means and the bare ``fastNlMeansDenoisingColored`` call.

Usage: ``python benchmarks/bench_precision.py [--no-12mp] [--no-write]``; writes the section
``restoration-precision`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._restoration_common import add_noise, load_ours, load_set
from benchmarks.report import machine_line, markdown_table, write_section
from benchmarks.timing import best_of, matmul_gflops

GOAL_MPS = 2.0


def photo(width: int, height: int) -> np.ndarray:
    """A bench photo mirrored to the size, with σ=25 noise (seeded)."""
    _, img = load_set("McMaster", 1)[0]
    tile = np.concatenate([img, img[::-1]], axis=0)
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)
    reps = (height // tile.shape[0] + 1, width // tile.shape[1] + 1, 1)
    return add_noise(np.ascontiguousarray(np.tile(tile, reps)[:height, :width]), 25, 7)


def flops_per_pixel(engine: object) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(1, 3, 192, 192)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        engine.model(x, 3)  # type: ignore[attr-defined]  (the network casts its input itself)
    return counter.get_total_flops() / 192 / 192


def grt_rows(rgb: np.ndarray, peaks: dict[str, float]) -> tuple[list[list[object]], dict[str, float]]:
    """Bare network on one engine tile and the engine on the whole photo, per precision."""
    from gptstudio.core.device import cpu_has_bf16
    from gptstudio.core.progress import TaskState

    rows, rates = [], {}
    mp = rgb.shape[0] * rgb.shape[1] / 1e6
    for name, bf16 in (("fp32", False), ("bf16", True)):
        if bf16 and not cpu_has_bf16():
            continue
        engine = load_ours(None, bf16=bf16)
        fpp = flops_per_pixel(engine)
        side = engine.info.tile
        x = torch.from_numpy(rgb[:side, :side].transpose(2, 0, 1).copy())[None]
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            engine.model(x[:, :, :256, :256], 3)
            bare = side * side / 1e6 / best_of(lambda e=engine, x=x: e.model(x, 3))
        whole = mp / best_of(lambda e=engine: e.restore(rgb, strength=1.0, mode="denoise", state=TaskState()))
        rates[name] = whole
        for what, rate in ((f"bare network, one {side}-px tile", bare), ("engine, whole 1-MP photo", whole)):
            gflops = fpp * rate / 1e3
            rows.append(
                [f"GRT {name}, {what}", f"{rate:.3f}", f"{gflops:.1f}", f"{gflops / peaks[name]:.0%}"]
            )
            print(rows[-1], flush=True)
        rows.append([f"GRT {name}: engine ÷ bare network", f"{whole / bare:.0%}", "", ""])
    return rows, rates


def cli_rows(big: np.ndarray) -> list[list[object]]:
    """``gptstudio denoise`` on a 12-MP PNG: shipped model (default precision, fp32) and NLM."""
    from PIL import Image

    mp = big.shape[0] * big.shape[1] / 1e6
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photo.png"
        Image.fromarray(big).save(src)
        runs = [
            ("`gptstudio denoise` (shipped GRT, default precision)", [], {}),
            ("`gptstudio denoise` (shipped GRT, GPTSTUDIO_CPU_BF16=0)", [], {"GPTSTUDIO_CPU_BF16": "0"}),
            ("`gptstudio denoise --model classical-nlm`", ["--model", "classical-nlm"], {}),
        ]
        for label, extra, env in runs:
            cmd = [sys.executable, "-m", "gptstudio", "denoise", str(src), "-o", str(Path(tmp) / "out.png")]
            start = time.perf_counter()
            subprocess.run(
                [*cmd, *extra, "--overwrite"], check=True, env={**os.environ, **env}, capture_output=True
            )
            seconds = time.perf_counter() - start
            rows.append([label, f"{seconds:.1f}", f"{mp / seconds:.2f}"])
            print(rows[-1], flush=True)
    seconds = best_of(lambda: cv2.fastNlMeansDenoisingColored(big, None, 10, 10, 7, 21), 1)
    rows.append(
        ["bare `fastNlMeansDenoisingColored` call (h=10, in memory)", f"{seconds:.1f}", f"{mp / seconds:.2f}"]
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-12mp", action="store_true", help="skip the 12-MP command-line runs")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args(argv)
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    start = time.perf_counter()
    peaks = {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}
    print(peaks, flush=True)
    rgb = photo(1024, 1024).astype(np.float32) / 255
    rows, rates = grt_rows(rgb, peaks)
    parts = [
        "## Restoration speed: fp32 and bf16 on the CPU",
        f"Command: `python benchmarks/bench_precision.py{' --no-12mp' if args.no_12mp else ''}`. Machine: "
        f"{machine_line()}; torch {torch.__version__}, {threads} threads. 2048³ matmul in the same run: "
        f"**fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s**.",
        markdown_table(["GRT (ours)", "MP/s", "GFLOP/s", "of same-precision matmul"], rows),
    ]
    verdict = [
        f"- Engine ≥ {GOAL_MPS} MP/s: "
        + ("yes" if max(rates.values()) >= GOAL_MPS else "no")
        + f" (best {max(rates.values()):.2f})"
    ]
    if not args.no_12mp:
        cli = cli_rows(photo(4000, 3000))
        parts += ["A 12-MP photo (4000×3000 PNG) from the command line, process start to file written:"]
        parts += [markdown_table(["command", "seconds", "MP/s"], cli)]
        ours, nlm = float(cli[0][1]), float(cli[2][1])
        verdict.append(
            f"- `gptstudio denoise` at least as fast as NLM on 12 MP: {'yes' if ours <= nlm else 'no'} "
            f"({ours:.1f} s vs {nlm:.1f} s)"
        )
    parts.append("\n".join(verdict))
    parts[1] += f" Run time {(time.perf_counter() - start) / 60:.1f} min."
    md = "\n\n".join(parts)
    print(md)
    if not args.no_write:
        write_section("restoration-precision", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
