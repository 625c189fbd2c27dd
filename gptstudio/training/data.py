"""A folder of photos as an endless source of random training patches.

The images are decoded once into memory (CBSD432 is about 200 MB as uint8): on a machine with two
CPU cores, decoding a JPEG per sample would cost as much as the training step itself. Patches are
cropped at random, flipped and rotated by multiples of 90 degrees, then damaged on the fly, so every
step sees new noise.

The sampler can also draw from downscaled copies of the photos. CBSD432 is a set of JPEGs with
4:2:0 chroma and a soft look: a network trained only on them learns that fine colour detail and
crisp texture are noise, and wipes them off sharp photos (it cost 2 dB on McMaster, even on clean
input). Halving a photo with area averaging gives full-resolution chroma and camera-sharp detail,
so a mix of scales teaches the network both kinds of picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
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


def downscale(img: np.ndarray, scale: float) -> np.ndarray:
    """``img`` resized by ``scale`` (< 1) with area averaging, which neither aliases nor rings."""
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.ascontiguousarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA))


class PatchSampler:
    """Draws batches of (damaged, clean, mode) tensors from in-memory images.

    ``scales`` lists (scale, probability) pairs: each patch first picks a scale, then a photo of
    that scale's copy of the set. The default is the photos as they are.
    """

    def __init__(
        self,
        images: list[np.ndarray],
        mix: DegradationMix,
        seed: int = 0,
        scales: Sequence[tuple[float, float]] = ((1.0, 1.0),),
    ) -> None:
        self.mix = mix
        self.rng = np.random.default_rng(seed)
        self.levels = [images if s == 1.0 else [downscale(im, s) for im in images] for s, _ in scales]
        weights = np.array([w for _, w in scales], dtype=np.float64)
        if not len(weights) or (weights < 0).any() or weights.sum() <= 0:
            raise InvalidRequestError("The scale mix needs at least one scale with a positive weight.")
        self.scale_p = weights / weights.sum()

    def batch(self, size: int, patch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """N×3×P×P float tensors in 0..1 (damaged, clean) and the N mode indices."""
        noisy = np.empty((size, patch, patch, 3), dtype=np.uint8)
        clean = np.empty_like(noisy)
        modes = np.empty(size, dtype=np.int64)
        usable = [[im for im in level if min(im.shape[:2]) >= patch] for level in self.levels]
        if not any(usable):
            raise InvalidRequestError(f"The training images are smaller than the {patch} px patches.")
        # A scale whose copies are all too small for this patch size gives its share to the others.
        p = np.where([bool(u) for u in usable], self.scale_p, 0.0)
        p /= p.sum()
        for i in range(size):
            level = usable[int(self.rng.choice(len(usable), p=p))]
            c = random_patch(level[int(self.rng.integers(0, len(level)))], patch, self.rng)
            clean[i], (noisy[i], modes[i]) = c, self.mix.sample(c, self.rng)

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).permute(0, 3, 1, 2).float().div_(255.0)

        return tensor(noisy), tensor(clean), torch.from_numpy(modes)
