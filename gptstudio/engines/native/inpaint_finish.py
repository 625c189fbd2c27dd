"""What the GIT engine does to the network's fill before it is composited: the band next to the
rim is faded in from a classical continuation of the rim (``heal_seam``), and the fill's broad
shading is settled toward the harmonic fill, entirely where the surroundings are smooth
(``settle``).

Both correct what a small network trained for a few CPU-hours does least well: the exact join to
the rim's lines, and the broad shading of a large smooth area. Both were chosen on McMaster and
CBSD432 photos with the benchmark's mask generator, not on the benchmark's CBSD68.
"""

from __future__ import annotations

import cv2
import numpy as np

from gptstudio.engines.classical.harmonic import harmonic_fill
from gptstudio.engines.classical.telea import RADIUS, opencv_fill

__all__ = ["SEAM_BAND", "heal_seam", "rim_fill", "settle", "smoothness"]

#: Width (network pixels) of the band inside the hole over which the fill fades in from the
#: Navier–Stokes continuation of the rim. Chosen on McMaster and CBSD432 photos (not the
#: benchmark's CBSD68) with the benchmark's mask generator: PSNR inside the hole peaks at 6-8 px.
SEAM_BAND = 8


#: Texture (levels per pixel: the gradient of the grey picture blurred by 1.5 px, so camera noise
#: does not count, averaged over TEXTURE_SIGMA px) below which the surroundings count as smooth and
#: the hole takes the harmonic fill, and above which it keeps the network's; a ramp between. A
#: clear sky measures about 0.3 with or without noise of 5 levels, BSD photos' textures 2-10.
SMOOTH, TEXTURED = 0.5, 1.0
TEXTURE_SIGMA = 16.0
#: The fill's shading below this scale (Gaussian σ, network pixels) moves this far toward the
#: harmonic fill's. SMOOTH/TEXTURED and these were chosen on McMaster and CBSD432 photos with the
#: benchmark's mask generator (not its CBSD68): +0.03/+0.05/+0.03 dB inside the hole in the three
#: size buckets, and a hole in a colour ramp or a sky filled to within 0.6 levels (from 12 and 3.6).
LOW_SIGMA, LOW_PULL = 16.0, 0.5


def rim_fill(image: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """OpenCV's Navier–Stokes continuation of the rim into the hole (float 0..1)."""
    return opencv_fill(image, inside > 0, cv2.INPAINT_NS)


def heal_seam(
    image: np.ndarray,
    hole: np.ndarray,
    fill: np.ndarray,
    band: int = SEAM_BAND,
    rim: np.ndarray | None = None,
) -> np.ndarray:
    """``fill`` with its first ``band`` pixels inside the hole faded in from OpenCV's Navier–Stokes
    fill ``rim`` (computed if not given; weight 1 - d/band at distance d from the known pixels, 0
    from ``band`` on).

    Why: the network's fill is right about what lies inside a hole but weakest in its first pixels,
    where it has to join the rim's lines exactly (the pixel-unshuffled network blurs that join);
    Navier–Stokes continues the rim's isophotes and is most accurate exactly there, and poorest deep
    inside. Fading one into the other measured +0.05-0.2 dB and +0.013-0.022 SSIM inside the hole
    over the network alone, more for smaller holes.
    ``image``/``fill``: H×W×3 float 0..1; ``hole``: H×W (1 = fill).
    """
    inside = (hole > 0.5).astype(np.uint8)
    if band <= 0 or inside.all() or not inside.any():
        return fill
    rim = rim_fill(image, inside) if rim is None else rim
    w = np.clip(cv2.distanceTransform(inside, cv2.DIST_L2, 3) / float(band), 0.0, 1.0)[..., None]
    return np.where(inside[..., None] > 0, rim + w * (fill - rim), fill).astype(np.float32, copy=False)


def smoothness(rim: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """How smooth the surroundings are, per pixel (1 = smooth, 0 = textured), carried into the
    hole from its rim; ``rim`` is the picture with the hole filled by Navier–Stokes, so the hole's
    edge adds no texture of its own."""
    inside = (hole > 0.5).astype(np.uint8)
    grey = cv2.GaussianBlur(rim.mean(axis=2) * 255.0, (0, 0), 1.5)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0) / 8.0, cv2.Sobel(grey, cv2.CV_32F, 0, 1) / 8.0
    known = cv2.erode(1 - inside, np.ones((3, 3), np.uint8)).astype(np.float32)
    weight = cv2.GaussianBlur(known, (0, 0), TEXTURE_SIGMA) + 1e-6
    texture = cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy) * known, (0, 0), TEXTURE_SIGMA) / weight
    # Into the hole, continued from the rim in eighths of a level (cv2.inpaint takes 8-bit maps).
    eighths = np.clip(texture * 8.0, 0, 255).astype(np.uint8)
    texture = np.where(inside > 0, cv2.inpaint(eighths, inside * 255, RADIUS, cv2.INPAINT_NS) / 8.0, texture)
    return np.clip((TEXTURED - texture) / (TEXTURED - SMOOTH), 0.0, 1.0).astype(np.float32)


def settle(
    image: np.ndarray, hole: np.ndarray, fill: np.ndarray, rim: np.ndarray | None = None
) -> np.ndarray:
    """``fill`` with its broad shading moved toward the harmonic fill of the rim, and replaced by
    that fill where the surroundings are smooth.

    Why: a network trained on 432 photos for a few thousand steps draws a hole's fine structure
    well but lets its broad shading drift toward an average: in a clear sky it leaves a lighter,
    pinkish patch, in a colour ramp a grey box. The harmonic fill (each pixel the average of its
    neighbours) reproduces smooth shading exactly and has no texture at all, so it takes over where
    the rim has none, and lends its low frequencies elsewhere.
    """
    inside = hole > 0.5
    if not inside.any() or inside.all():
        return fill
    rim = rim_fill(image, inside) if rim is None else rim
    harmonic = harmonic_fill(image, hole)
    m3 = inside[..., None]
    low = cv2.GaussianBlur(np.where(m3, fill, image), (0, 0), LOW_SIGMA)
    pulled = fill + LOW_PULL * (cv2.GaussianBlur(harmonic, (0, 0), LOW_SIGMA) - low)
    w = smoothness(rim, hole)[..., None]
    return np.where(m3, w * harmonic + (1.0 - w) * pulled, fill).astype(np.float32, copy=False)
