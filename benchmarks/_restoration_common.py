"""Shared pieces of the restoration benchmarks: data, noise, PSNR and loading our engine.

The protocol is the one behind the published colour-denoising tables: Gaussian noise is added to
the 8-bit image with a fixed seed, the noisy image is rounded and clipped to 8 bits (it is a file a
user could have), the model's output is rounded to 8 bits, and PSNR is computed over all three RGB
channels of the whole image.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "data" / "bench"
SEED = 20240615


def load_set(name: str, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """The images of ``../shared/data/bench/<name>`` as (file name, H×W×3 uint8 RGB), sorted."""
    from PIL import Image

    folder = BENCH / name
    if not folder.is_dir():
        raise SystemExit(f"benchmark set not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff", ".bmp"))
    out = []
    for p in files[:limit]:
        with Image.open(p) as im:
            out.append((p.name, np.asarray(im.convert("RGB"), dtype=np.uint8)))
    return out


def add_noise(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Gaussian noise of ``sigma`` (8-bit scale) added to the 8-bit image, rounded and clipped."""
    rng = np.random.default_rng(seed)
    noisy = img.astype(np.float64) + rng.standard_normal(img.shape) * sigma
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (all channels)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def load_ours(weights: Path | None, device: str = "cpu", bf16: bool | None = None) -> Any:
    """Our engine from the shipped weights (or another GRT safetensors file); ``bf16`` None is
    what the app does (bf16 on CPUs with bf16 units)."""
    from gptstudio.engines.native import shipped

    path = weights or shipped.WEIGHTS_FILE
    if not Path(path).is_file():
        raise SystemExit(f"weights not found: {path}")
    return shipped.load_engine(device, Path(path), bf16=bf16)
