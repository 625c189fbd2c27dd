"""Packaging benchmark: the size of each built bundle variant, and the time from starting the
program (a double-click is a process start) to a visible window — the bundle against the pip
install, on the same virtual screen.

The window is timed from outside, as a person sees it: the process is started, the X screen is
grabbed every 50 ms, and the clock stops at the first grab that shows a window (a non-uniform
screen with many colours) and at the first that shows the opened photo (its magenta square).
Each launcher runs once to warm the disk cache, then ``--runs`` times; the median is reported,
and the best is in brackets (the least disturbed by other work on the machine).

    python benchmarks/bench_packaging.py --bundle /path/to/dist/gptstudio [--bundle OTHER] [--runs 3]

Needs Xvfb; a bundle is built with ``python packaging/build.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageGrab

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import machine_line, markdown_table, write_section

SCREEN = (1400, 900)
POLL_S = 0.05
TIMEOUT_S = 180.0


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def size_rows(bundle: Path) -> list[object]:
    """Variant, total, and where the bytes are: PyTorch, the NVIDIA libraries, Qt, the rest."""
    info = json.loads((bundle / "BUILD-INFO.json").read_text(encoding="utf-8"))
    inner = bundle / "_internal"
    parts = {
        "torch": _size(inner / "torch") if (inner / "torch").exists() else 0,
        "nvidia": _size(inner / "nvidia") if (inner / "nvidia").exists() else 0,
        "qt": _size(inner / "PySide6") if (inner / "PySide6").exists() else 0,
    }
    total = _size(bundle)
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    generate = "yes" if info.get("with_generate") else "no"
    return [
        info["variant"], info["torch"], generate, _mb(total), f"{files:,}",
        _mb(parts["torch"]), _mb(parts["nvidia"]), _mb(parts["qt"]),
        _mb(total - sum(parts.values())),
    ]  # fmt: skip


def _variant_name(bundle: Path) -> str:
    info = json.loads((bundle / "BUILD-INFO.json").read_text(encoding="utf-8"))
    return f"{info['variant']}, {'with' if info.get('with_generate') else 'without'} generation"


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    return proc, f":{number}"


def _screen_state(display: str) -> tuple[bool, bool]:
    """(a window is drawn, the photo is drawn) on ``display`` now."""
    px = np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB")).astype(np.int16)
    window = bool(px.std() > 10)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    photo = bool(((r > 180) & (b > 180) & (g < 90)).sum() > 5000)
    return window, photo


def time_launch(command: list[str], env: dict[str, str], display: str) -> tuple[float, float]:
    """Seconds from process start to a visible window, and to the photo shown in it."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    window_at = photo_at = None
    try:
        while photo_at is None:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {proc.returncode} before showing the photo")
            now = time.perf_counter() - start
            if now > TIMEOUT_S:
                raise RuntimeError(f"{command[0]} showed no photo in {TIMEOUT_S:.0f} s")
            window, photo = _screen_state(display)
            if window and window_at is None:
                window_at = now
            if photo:
                photo_at = now
            time.sleep(POLL_S)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert window_at is not None
    return window_at, photo_at


def _photo(folder: Path) -> Path:
    ramp = np.linspace(60, 200, 900, dtype=np.float32)[None, :, None] * np.ones((600, 1, 3), np.float32)
    ramp[200:400, 300:600] = (230, 20, 230)
    path = folder / "photo.png"
    Image.fromarray(ramp.astype(np.uint8)).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, action="append", required=True, help="a built bundle folder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)

    headers = ["variant", "torch", "generate", "bundle", "files", "torch", "NVIDIA libs", "Qt", "rest"]
    sizes = [size_rows(b) for b in args.bundle]
    print(markdown_table(headers, sizes))

    pip_gui = Path(sys.executable).parent / ("gptstudio-gui.exe" if os.name == "nt" else "gptstudio-gui")
    launchers = [(f"bundle ({_variant_name(b)})", str(b / "gptstudio-gui")) for b in args.bundle]
    launchers.append(("pip install (venv's gptstudio-gui)", str(pip_gui)))
    timing_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = _photo(folder)
        xvfb, display = _start_xvfb()
        try:
            for name, program in launchers:
                home = folder / "home"
                home.mkdir(exist_ok=True)
                skip = ("XDG_", "GPTSTUDIO_", "WAYLAND")
                env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
                env.update(HOME=str(home), DISPLAY=display, QT_QPA_PLATFORM="xcb")
                time_launch([program, str(photo)], env, display)  # warm the disk cache
                runs = [time_launch([program, str(photo)], env, display) for _ in range(args.runs)]
                window = [r[0] for r in runs]
                shown = [r[1] for r in runs]
                row = [
                    name,
                    f"{statistics.median(window):.2f} ({min(window):.2f})",
                    f"{statistics.median(shown):.2f} ({min(shown):.2f})",
                ]
                print(row, flush=True)
                timing_rows.append(row)
        finally:
            xvfb.terminate()
            xvfb.wait(10)
    start_headers = ["program", "process start → window visible, s", "→ photo shown, s"]
    text = (
        "## Packaging: bundle size and start-up (`benchmarks/bench_packaging.py`)\n\n"
        f"Machine: {machine_line()}. Bundles built with `python packaging/build.py`; sizes are the "
        "unpacked folder (`rest`: Python, OpenCV, NumPy, spandrel, diffusers/transformers when "
        "included, our code, the catalog and the shipped weights). For comparison, the pip "
        f"environment they were built from (with the test, cluster and generate extras) holds "
        f"{_mb(_size(Path(sys.prefix)))}. A CPU-only variant needs PyTorch's CPU builds of torch "
        "*and* torchvision in the build environment (packaging/README.md); where PyTorch's own "
        "index cannot be reached, PyPI's Linux torchvision (built for CUDA) fails beside a CPU "
        "torch, so only the variants in the table were built.\n\n"
        + markdown_table(headers, sizes)
        + "\n\nTime from starting the program (what a double-click does) to a window on an Xvfb "
        f"screen and to the photo passed on its command line drawn in it, median of {args.runs} "
        "runs after one warm-up (best in brackets), screen grabbed every 50 ms from outside:\n\n"
        + markdown_table(start_headers, timing_rows)
        + "\n"
    )
    print(text)
    if not args.no_write:
        write_section("packaging", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
