"""A folder of photos as an endless source of random training patches.

The images are decoded once into memory (CBSD432 is about 200 MB as uint8): on a machine with two
CPU cores, decoding a JPEG per sample would cost as much as the training step itself. Patches are
cropped at random, flipped and rotated by multiples of 90 degrees, then damaged on the fly, so every
step sees new noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gptstudio.core.errors import InvalidRequestError
from gptstudio.training.degrade import DegradationMix

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def load_folder(folder: str | Path, *, min_side: int = 64) -> list[np.ndarray]:
    """Decode every image in ``folder`` (sorted, so runs repeat) to ``H×W×3`` uint8 RGB."""
    from PIL import Image

    root = Path(folder)
    if not root.is_dir():
        raise InvalidRequestError(f"The training folder {root} does not exist.")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    images = []
    for path in files:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
        if min(arr.shape[:2]) >= min_side:
            images.append(np.ascontiguousarray(arr))
    if not images:
        raise InvalidRequestError(f"No usable images (at least {min_side} px) in {root}.")
    return images


def random_patch(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size×size`` crop with a random flip and rotation (the 8 dihedral variants)."""
    h, w = img.shape[:2]
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    patch = img[y : y + size, x : x + size]
    k = int(rng.integers(0, 4))
    if k:
        patch = np.rot90(patch, k)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


class PatchSampler:
    """Draws batches of (damaged, clean, mode) tensors from in-memory images."""

    def __init__(self, images: list[np.ndarray], mix: DegradationMix, seed: int = 0) -> None:
        self.images = images
        self.mix = mix
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int, patch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """N×3×P×P float tensors in 0..1 (damaged, clean) and the N mode indices."""
        noisy = np.empty((size, patch, patch, 3), dtype=np.uint8)
        clean = np.empty_like(noisy)
        modes = np.empty(size, dtype=np.int64)
        usable = [im for im in self.images if min(im.shape[:2]) >= patch] or self.images
        for i in range(size):
            img = usable[int(self.rng.integers(0, len(usable)))]
            if min(img.shape[:2]) < patch:
                raise InvalidRequestError(f"The training images are smaller than the {patch} px patches.")
            c = random_patch(img, patch, self.rng)
            clean[i], (noisy[i], modes[i]) = c, self.mix.sample(c, self.rng)

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).permute(0, 3, 1, 2).float().div_(255.0)

        return tensor(noisy), tensor(clean), torch.from_numpy(modes)
