"""classical-nlm is set from the photo's own noise level: it helps a noisy photo and leaves a clean one."""

from __future__ import annotations

import numpy as np
import pytest

from gptstudio import tasks
from gptstudio.core.imageio import from_array
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.tasks import DenoiseRequest


def smooth_and_texture(h: int = 128, w: int = 160) -> np.ndarray:
    """Shading, a flat object with hard edges, and a fine fabric-like texture on the right half."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.dstack([40 + 150 * x / w, 60 + 120 * y / h, 180 - 100 * (x + y) / (h + w)])
    img[:, w // 2 :] += (25 * np.sin(x / 2.3) * np.cos(y / 3.1))[:, w // 2 :, None]
    img[h // 3 : 2 * h // 3, w // 6 : w // 3] = (200, 40, 40)
    return (np.clip(np.rint(img), 0, 255) / 255).astype(np.float32)


def with_noise(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Gaussian noise of ``sigma`` 8-bit levels, rounded to 8 bits as a saved photo is."""
    noisy = clean * 255 + np.random.default_rng(seed).normal(0, sigma, clean.shape)
    return (np.clip(np.rint(noisy), 0, 255) / 255).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a.astype(np.float64) - b) ** 2), 1e-12)))


@pytest.mark.parametrize("sigma", [5.0, 15.0, 25.0, 50.0])
def test_noise_estimate_is_close_on_white_noise(sigma: float) -> None:
    flat = np.full((200, 200, 3), 0.5, np.float32)
    assert estimate_noise_sigma(with_noise(flat, sigma)) == pytest.approx(sigma, rel=0.1)


def test_default_strength_improves_a_sigma_25_photo_and_records_what_it_chose() -> None:
    clean = smooth_and_texture()
    noisy = with_noise(clean, 25.0)
    result = tasks.run(DenoiseRequest(image=from_array(noisy), model="classical-nlm"))
    before, after = psnr(noisy, clean), psnr(result.image.rgb, clean)
    assert after > before + 6, (before, after)  # 20.2 dB -> about 30 dB
    assert result.params["noise_sigma"] == pytest.approx(25, abs=3)
    assert result.params["nlm_h"] == pytest.approx(0.6 * result.params["noise_sigma"], abs=0.02)


@pytest.mark.parametrize("strength", [0.25, 0.5, 0.75, 1.0])
def test_no_strength_makes_a_noisy_photo_worse(strength: float) -> None:
    clean = smooth_and_texture()
    noisy = with_noise(clean, 25.0, seed=1)
    out = tasks.run(DenoiseRequest(image=from_array(noisy), model="classical-nlm", strength=strength))
    assert psnr(out.image.rgb, clean) > psnr(noisy, clean) + 1


def test_a_clean_photo_is_barely_changed() -> None:
    clean = smooth_and_texture()
    result = tasks.run(DenoiseRequest(image=from_array(clean), model="classical-nlm"))
    assert psnr(result.image.rgb, clean) > 40
    assert result.params["noise_sigma"] < 2
