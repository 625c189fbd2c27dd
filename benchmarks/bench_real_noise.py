"""Real camera noise: PolyU's 100 noisy photos against references made by averaging many shots.

Gaussian benchmarks flatter a denoiser: real noise is signal-dependent, spatially correlated by
demosaicing and JPEG, and strongest in the chroma. ``../shared/data/bench/PolyU`` holds 100 real
photos (``*_real.JPG``) with references (``*_mean.JPG``); it is for benchmarking only (its licence is
non-commercial: never train on it, never copy it into the repository).

Rows: the noisy input; OpenCV non-local means with its automatic strength (the classical engine);
an older GRT for comparison (``--baseline FILE``); the shipped GRT with its automatic noise level,
and, if it has the noise-level control, with the level set by hand (what a user does with a photo
whose grain survives). PSNR over the RGB image, averaged.

Side-by-side crops (noisy | NLM | ours | reference) go to a folder outside the repository
(``--crops``, default a temporary folder) so a person can look at them.

Usage: ``python benchmarks/bench_real_noise.py [--baseline FILE] [--limit N] [--crops DIR] [--no-write]``.
It writes the section ``real-noise`` of BENCHMARKS.md.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._restoration_common import BENCH, load_ours, psnr, to_float, to_uint8
from benchmarks.report import machine_line, markdown_table, write_section

CROP = 192
#: Noise levels a user might set by hand (σ, 8-bit levels). The blind estimate reads PolyU's
#: JPEG-smoothed noise as almost nothing, so the automatic row is close to a blind run.
LEVELS = (5.0, 10.0)


def load_pairs(limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, noisy, reference) uint8 RGB triples from PolyU, sorted by name."""
    from PIL import Image

    folder = BENCH / "PolyU"
    if not folder.is_dir():
        raise SystemExit(f"benchmark set not found: {folder}")
    out = []
    for real in sorted(folder.glob("*_real.JPG"))[:limit]:
        mean = real.with_name(real.name.replace("_real.", "_mean."))
        with Image.open(real) as a, Image.open(mean) as b:
            out.append(
                (real.stem[: -len("_real")], np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))
            )
    return out


def run_engine(engine: object, noisy: np.ndarray, level: float | None = None) -> np.ndarray:
    from gptstudio.core.progress import TaskState

    extra = {} if level is None else {"noise_level": level}
    out = engine.restore(to_float(noisy), strength=1.0, mode="denoise", state=TaskState(), tile=0, **extra)  # type: ignore[attr-defined]
    return to_uint8(out)


def save_crops(folder: Path, name: str, panels: list[np.ndarray]) -> None:
    """A centre crop of each panel, side by side, as one PNG."""
    from PIL import Image

    h, w = panels[0].shape[:2]
    y, x = (h - CROP) // 2, (w - CROP) // 2
    strip = np.concatenate([p[y : y + CROP, x : x + CROP] for p in panels], axis=1)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip).save(folder / f"{name}.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, default=None, help="an older GRT safetensors to compare with")
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos")
    ap.add_argument("--crops", type=Path, default=Path(tempfile.gettempdir()) / "gptstudio-polyu-crops")
    ap.add_argument("--crop-count", type=int, default=8, help="how many photos get side-by-side crops")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args(argv)
    import torch

    from gptstudio.core.noise_estimate import estimate_noise_sigma
    from gptstudio.engines.classical.nlm import NonLocalMeans

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    pairs = load_pairs(args.limit)
    ours = load_ours(None)
    has_level = "noise_level" in ours.info.uses
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "noisy input": lambda n: n,
        "OpenCV NLM (automatic strength)": lambda n: run_engine(NonLocalMeans(), n),
    }
    if args.baseline:
        baseline = load_ours(args.baseline)
        methods[f"GRT {args.baseline.stem} (baseline)"] = lambda n: run_engine(baseline, n)
    methods["**GRT shipped, automatic**"] = lambda n: run_engine(ours, n)
    if has_level:
        for level in LEVELS:
            name = f"GRT shipped, noise level set to {level:g}"
            methods[name] = lambda n, lv=level: run_engine(ours, n, lv)
    scores: dict[str, list[float]] = {m: [] for m in methods}
    estimates = []
    start = time.perf_counter()
    for i, (name, noisy, ref) in enumerate(pairs):
        outs = {m: fn(noisy) for m, fn in methods.items()}
        for m, out in outs.items():
            scores[m].append(psnr(out, ref))
        estimates.append(estimate_noise_sigma(to_float(noisy)))
        if i < args.crop_count:
            save_crops(
                args.crops, name, [noisy, outs[list(methods)[1]], outs["**GRT shipped, automatic**"], ref]
            )
        print(
            f"{i + 1}/{len(pairs)} {name}: " + ", ".join(f"{np.mean(v):.2f}" for v in scores.values()),
            flush=True,
        )
    seconds = time.perf_counter() - start
    base = float(np.mean(scores["noisy input"]))
    rows = [[m, f"{np.mean(v):.2f}", f"{np.mean(v) - base:+.2f}"] for m, v in scores.items()]
    command = " ".join(["python benchmarks/bench_real_noise.py", *(sys.argv[1:] if argv is None else argv)])
    md = "\n\n".join(
        [
            "## Real camera noise (PolyU, PSNR dB)",
            f"Command: `{command}`. Machine: {machine_line()}. {len(pairs)} photos of 512×512, "
            f"run time {seconds / 60:.1f} min. Blind noise estimate of the inputs: median "
            f"σ {np.median(estimates):.1f}, range {min(estimates):.1f}-{max(estimates):.1f} (8-bit levels).",
            markdown_table(["method", "PSNR", "vs input"], rows),
            f"Side-by-side {CROP}-px centre crops (noisy | NLM | GRT automatic | reference) of the first "
            f"{min(args.crop_count, len(pairs))} photos went to `{args.crops}` (outside the repository).",
        ]
    )
    print(md)
    if not args.no_write:
        write_section("real-noise", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
