"""Synthetic damage for training restoration models: noise, camera noise, JPEG, blur.

Every function takes and returns an ``H×W×3`` uint8 RGB array, because the damage a user brings
is an 8-bit file: Gaussian noise is added on the 8-bit scale and then rounded and clipped exactly
as the benchmark does, and JPEG goes through a real encoder. The random generator is passed in so
a seeded run repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gptstudio.core.vocabulary import RESTORE_MODES

#: Mode indices: positions in the task vocabulary, which is also the network's embedding order.
MODE_ALL, MODE_JPEG, MODE_DEBLUR, MODE_DENOISE = (
    RESTORE_MODES.index(m) for m in ("all", "jpeg", "deblur", "denoise")
)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and clip a float array on the 0..255 scale to uint8 (what saving a file does)."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Additive white Gaussian noise of standard deviation ``sigma`` on the 8-bit scale."""
    return to_uint8(img.astype(np.float32) + rng.standard_normal(img.shape, dtype=np.float32) * sigma)


def camera_noise(
    img: np.ndarray, rng: np.random.Generator, *, shot: float, read: float, chroma: float
) -> np.ndarray:
    """Signal-dependent Poisson-Gaussian noise plus low-frequency chroma blotches.

    ``shot`` scales the variance with brightness (photon noise), ``read`` is the constant floor
    (sensor read noise), both on the 0..1 scale as standard deviations at full white; ``chroma`` is
    the strength of colour noise at a quarter of the resolution, the blotchy look of phone photos.
    """
    x = img.astype(np.float32) / 255.0
    std = np.sqrt(shot**2 * x + read**2)
    y = x + std * rng.standard_normal(x.shape, dtype=np.float32)
    if chroma > 0:
        h, w = x.shape[:2]
        small = rng.standard_normal((max(h // 4, 1), max(w // 4, 1), 3), dtype=np.float32) * chroma
        blotch = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        blotch -= blotch.mean(axis=2, keepdims=True)  # colour only, no brightness change
        y = y + blotch
    return to_uint8(y * 255.0)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode with OpenCV's libjpeg at ``quality`` (4:2:0 chroma, like most cameras)."""
    ok, buf = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Mild isotropic Gaussian blur (slight defocus or a soft lens)."""
    return cv2.GaussianBlur(img, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class DegradationMix:
    """How often each kind of damage is drawn (weights, normalised) and their ranges.

    Gaussian noise gets the largest share: it is what the published benchmarks measure, and a
    network that removes it well also handles most of the camera noise.
    """

    gaussian: float = 0.6
    camera: float = 0.15
    jpeg: float = 0.15
    blur: float = 0.10
    sigma_max: float = 50.0
    jpeg_quality: tuple[int, int] = (10, 90)
    blur_sigma: tuple[float, float] = (0.4, 1.6)
    #: Probability that the training sample carries its damage type; otherwise mode 'all' (blind).
    mode_hint: float = 0.5

    def sample(self, clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """Return (damaged uint8 image, mode index) for one clean uint8 patch."""
        weights = np.array([self.gaussian, self.camera, self.jpeg, self.blur], dtype=np.float64)
        kind = int(rng.choice(4, p=weights / weights.sum()))
        if kind == 0:
            # A little beyond sigma_max so the top of the range is not an edge of the training data.
            out = gaussian_noise(clean, float(rng.uniform(0.0, self.sigma_max * 1.1)), rng)
            mode = MODE_DENOISE
        elif kind == 1:
            out = camera_noise(
                clean,
                rng,
                shot=float(rng.uniform(0.01, 0.2)),
                read=float(rng.uniform(0.0, 0.06)),
                chroma=float(rng.uniform(0.0, 0.08)),
            )
            mode = MODE_DENOISE
        elif kind == 2:
            src = clean
            if rng.random() < 0.3:  # noisy photos get compressed too
                src = gaussian_noise(clean, float(rng.uniform(0.0, 10.0)), rng)
            out = jpeg(src, int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
            mode = MODE_JPEG
        else:
            out = blur(clean, float(rng.uniform(*self.blur_sigma)))
            if rng.random() < 0.5:
                out = gaussian_noise(out, float(rng.uniform(0.0, 5.0)), rng)
            mode = MODE_DEBLUR
        if rng.random() >= self.mode_hint:
            mode = MODE_ALL
        return out, mode
