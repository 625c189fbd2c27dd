"""Community architectures through our spandrel engines on the CPU, next to the shipped GRT.

1. Speed: each architecture at its published size (random weights: only speed is compared) is
   detected from its state dict and run through the same engine a user gets (``denoise``,
   ``upscale`` or ``inpaint``), with the engine's own tiling choice, on a small image: one warm-up
   on a 64-px crop, then one timed run. SwinIR-M, Swin2SR and ESRGAN run on 128-px inputs because
   they are slow on a CPU; MP/s is input megapixels per second (an upscaler writes scale² times
   more). The shipped GRT engine is timed in the same run on the same image.
2. Import and load: for each tiny test architecture (``tests/spandrel_tiny.py``), in a fresh
   process, the time to import spandrel and our engines (~40 architectures register), to read
   and detect a file as ``gptstudio models import`` does, and to load the engine as a job does,
   with the process's peak resident memory above the interpreter with torch imported.

Usage: ``python benchmarks/bench_community.py [--quick] [--no-write]`` (about 5 minutes on 2 cores;
``--quick`` halves the image sides).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "tests"))

from benchmarks._restoration_common import add_noise, load_ours, load_set  # noqa: E402
from benchmarks.bench_speed import reference_models  # noqa: E402
from benchmarks.report import machine_line, markdown_table, write_section  # noqa: E402


def swin2sr_x2() -> torch.nn.Module:
    """Swin2SR classical ×2 (Swin2SR_ClassicalSR_X2_64.pth)."""
    from spandrel.architectures.Swin2SR import Swin2SR

    return Swin2SR(
        upscale=2,
        in_chans=3,
        img_size=64,
        window_size=8,
        img_range=1.0,
        depths=[6] * 6,
        embed_dim=180,
        num_heads=[6] * 6,
        mlp_ratio=2,
        upsampler="pixelshuffle",
        resi_connection="1conv",
    )


def esrgan_x4plus() -> torch.nn.Module:
    """Real-ESRGAN x4plus: RRDBNet, 64 filters, 23 blocks, ×4."""
    from spandrel.architectures.ESRGAN import ESRGAN

    return ESRGAN(in_nc=3, out_nc=3, num_filters=64, num_blocks=23, scale=4)


def compact_x4() -> torch.nn.Module:
    """Real-ESRGAN general x4v3 (SRVGGNetCompact: 64 features, 32 convolutions, ×4)."""
    from spandrel.architectures.Compact import Compact

    return Compact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=32, upscale=4)


def lama() -> torch.nn.Module:
    from spandrel.architectures.LaMa import LaMa

    return LaMa(in_nc=4, out_nc=3)


def _reference(name: str) -> Callable[[], torch.nn.Module]:
    return lambda: reference_models()[name][0]


#: label, builder, side of the test image (input pixels), what the size is
MODELS: list[tuple[str, Callable[[], torch.nn.Module], int, str]] = [
    ("SCUNet (colour, dim 64)", _reference("SCUNet"), 256, "denoise"),
    ("DRUNet (colour)", _reference("DRUNet"), 256, "denoise"),
    ("SwinIR-M (colour denoising)", _reference("SwinIR-M"), 128, "denoise"),
    ("Swin2SR classical ×2", swin2sr_x2, 128, "upscale"),
    ("Real-ESRGAN x4plus (RRDBNet, 23 blocks)", esrgan_x4plus, 128, "upscale"),
    ("Real-ESRGAN compact ×4 (SRVGG, 32 convs)", compact_x4, 256, "upscale"),
    ("LaMa (big-lama size)", lama, 256, "inpaint"),
]


def test_image(side: int) -> np.ndarray:
    """A σ=25 noisy bench photo cropped (mirrored if needed) to ``side``², float32."""
    _, img = load_set("McMaster", 1)[0]
    reps = (side // img.shape[0] + 1, side // img.shape[1] + 1, 1)
    big = np.tile(img, reps)[:side, :side]
    return add_noise(np.ascontiguousarray(big), 25, 7).astype(np.float32) / 255


def centre_mask(side: int) -> np.ndarray:
    mask = np.zeros((side, side), np.float32)
    mask[side // 3 : 2 * side // 3, side // 3 : 2 * side // 3] = 1
    return mask


def run_engine(engine: Any, rgb: np.ndarray) -> np.ndarray:
    from gptstudio.core.progress import TaskState

    state = TaskState()
    if "inpaint" in engine.info.tasks:
        mask = centre_mask(rgb.shape[0])
        kw: dict[str, Any] = dict(prompt="", negative_prompt="", seed=0, steps=1, guidance=0, strength=1)
        return engine.inpaint(rgb, mask, state=state, **kw)
    if "upscale" in engine.info.tasks:
        return engine.upscale(rgb, state=state)
    return engine.restore(rgb, strength=1.0, mode="denoise", state=state)


def time_engine(engine: Any, side: int, budget: float = 15.0) -> float:
    """Best of up to three runs (the machine may be shared), fewer once ``budget`` seconds are spent."""
    rgb = test_image(side)
    run_engine(engine, rgb[:64, :64].copy())  # warm-up: kernel selection, caches
    times: list[float] = []
    while len(times) < 3 and sum(times) < budget:
        start = time.perf_counter()
        out = run_engine(engine, rgb)
        times.append(time.perf_counter() - start)
        assert np.isfinite(out).all()
    return min(times)


def speed_rows(scale_side: float) -> list[list[object]]:
    from gptstudio.engines.spandrel.engine import engine_from_state_dict

    rows: list[list[object]] = []
    grt = load_ours(None)
    side = int(256 * scale_side)
    seconds = time_engine(grt, side)
    params = sum(p.numel() for p in grt.model.parameters()) / 1e6
    rate = f"{side * side / 1e6 / seconds:.3f}"
    rows.append(
        [
            "GRT (ours, shipped)",
            f"{params:.1f}",
            "denoise",
            f"{side}²",
            f"{seconds:.2f}",
            rate,
            "engine tiles",
        ]
    )
    print(rows[-1], flush=True)
    del grt
    for label, build, base_side, _task in MODELS:
        torch.manual_seed(0)
        module = build()
        params = sum(p.numel() for p in module.parameters()) / 1e6
        engine = engine_from_state_dict(module.state_dict(), id="bench", name=label)
        del module
        side = max(64, int(base_side * scale_side))
        seconds = time_engine(engine, side)
        info = engine.info
        task = info.tasks[0] + (f" ×{info.scale}" if info.scale > 1 else "")
        how = "whole image" if info.tile == 0 else f"tile {info.tile}"
        rate = f"{side * side / 1e6 / seconds:.3f}"
        how += f" ({info.architecture}, hint {_hint(engine)})"
        rows.append([label, f"{params:.1f}", task, f"{side}²", f"{seconds:.2f}", rate, how])
        print(rows[-1], flush=True)
        del engine
    return rows


def _hint(engine: Any) -> str:
    return str(engine.descriptor.tiling.name.lower())


def _memory_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process from /proc, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> float:
    """Reset the process's peak RSS to its current size (Linux); returns that size in MiB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _memory_mib("VmRSS")


def child_load(path: str) -> None:
    """In a fresh process: import, read + detect, load; print one JSON line (MiB, seconds)."""
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    before_import = _memory_mib("VmRSS")
    t0 = time.perf_counter()
    import spandrel  # noqa: F401 - importing it registers its architectures; timed on its own

    from gptstudio.engines import spandrel as engines

    t1 = time.perf_counter()
    import_mib = _memory_mib("VmRSS") - before_import
    base = _reset_peak()
    t2 = time.perf_counter()
    detected = engines.detect(engines.read_state_dict(Path(path)))
    t3 = time.perf_counter()
    engine = engines.load_engine(Path(path), id="bench", name="bench")
    t4 = time.perf_counter()
    assert engine.info.architecture == detected.architecture
    out = {"import": t1 - t0, "detect": t3 - t2, "load": t4 - t3, "import_mib": import_mib}
    out |= {"peak_mib": _memory_mib("VmHWM") - base, "arch": detected.architecture}
    print(json.dumps(out | {"bytes": Path(path).stat().st_size}))


def load_rows() -> list[list[object]]:
    from spandrel_tiny import build_all

    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in build_all(Path(tmp)).items():
            for path in files:
                cmd = [sys.executable, __file__, "--child-load", str(path)]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                ms = [f"{r[k] * 1000:.0f}" for k in ("import", "detect", "load")]
                size = f"{r['bytes'] / 1024:.0f} KiB"
                mib = [f"{r['import_mib']:.0f}", f"{r['peak_mib']:.1f}"]
                rows.append([f"{name} ({path.suffix})", r["arch"], size, *ms, *mib])
                print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="half the image sides")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    ap.add_argument("--child-load", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_load:
        child_load(args.child_load)
        return 0
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    start = time.perf_counter()
    speed = speed_rows(0.5 if args.quick else 1.0)
    loads = load_rows()
    minutes = (time.perf_counter() - start) / 60
    md = "\n\n".join(
        [
            "## Community models on the CPU (spandrel engines)",
            f"Command: `python benchmarks/bench_community.py{' --quick' if args.quick else ''}`. Machine: "
            f"{machine_line()}; torch {torch.__version__} with {threads} threads, fp32. Run time "
            f"{minutes:.1f} min.",
            "Each architecture at its published size with random weights (only speed is compared), "
            "detected from its state dict and run through the engine `gptstudio` uses, with that "
            "engine's tiling choice: best of up to three runs after a warm-up; the shipped GRT is timed "
            "in the same run. MP/s counts input pixels (an upscaler writes scale² times more). LaMa "
            "fills a centred square of a third of the side, from a crop around it.",
            markdown_table(
                ["model", "M params", "task", "image", "seconds", "MP/s", "how it ran"],
                speed,
            ),
            "Import and load of each tiny test architecture, each in a fresh process: importing spandrel "
            "and our engines (spandrel registers ~40 architectures), reading + detecting the file (what "
            "`gptstudio models import` does) and loading the engine (what a job does). Import MiB is "
            "the resident memory the import adds (torch already loaded); peak MiB is the peak resident "
            "size while reading, detecting and loading, above the size before.",
            markdown_table(
                [
                    "file",
                    "architecture",
                    "size",
                    "import ms",
                    "read+detect ms",
                    "load ms",
                    "import MiB",
                    "peak MiB",
                ],
                loads,
            ),
        ]
    )
    print(md)
    if not args.no_write:
        write_section("community-models", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
