"""The task API with the classical engines, as the CLI, batch and GUI worker call it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gptstudio import tasks
from gptstudio.core.errors import CancelledError, InvalidRequestError, ModelError
from gptstudio.core.imageio import from_array, load_image, save_image, to_uint16
from gptstudio.core.progress import TaskState
from gptstudio.tasks import DenoiseRequest, InpaintRequest


def clean_picture(h: int = 96, w: int = 128) -> np.ndarray:
    """Flat regions and soft edges (what NLM is good at), float in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.25 + 0.5 * (x > w / 2)
    g = 0.2 + 0.6 * (((x - w / 3) ** 2 + (y - h / 2) ** 2) < (h / 4) ** 2)
    b = 0.3 + 0.4 * y / h
    return np.stack([r, g, b], axis=2).astype(np.float32)


def noisy(clean: np.ndarray, sigma: float = 0.08, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 1).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_denoise_raises_psnr() -> None:
    clean = clean_picture()
    dirty = noisy(clean)
    seen: list[float] = []
    result = tasks.run(
        DenoiseRequest(image=from_array(dirty), model="classical-nlm", strength=0.6),
        TaskState(callback=lambda f, m: seen.append(f)),
    )
    assert psnr(result.image.rgb, clean) > psnr(dirty, clean) + 5
    assert result.params["task"] == "denoise" and result.params["model"] == "classical-nlm"
    assert seen and seen[-1] == 1.0


def test_denoise_strength_zero_returns_input() -> None:
    dirty = noisy(clean_picture())
    result = tasks.run(DenoiseRequest(image=from_array(dirty), model="classical-nlm", strength=0.0))
    np.testing.assert_array_equal(result.image.rgb, dirty)


def test_inpaint_changes_only_inside_the_mask() -> None:
    clean = clean_picture()
    damaged = clean.copy()
    mask = np.zeros(clean.shape[:2], np.float32)
    mask[40:56, 20:36] = 1
    damaged[mask > 0] = [1.0, 0.0, 1.0]  # a magenta blot to remove
    result = tasks.run(
        InpaintRequest(image=from_array(damaged), mask=mask, model="classical-telea", grow=0, feather=0)
    )
    out = result.image.rgb
    np.testing.assert_array_equal(out[mask == 0], damaged[mask == 0])  # outside: identical
    hole = out[mask > 0]
    assert np.abs(hole - [1.0, 0.0, 1.0]).max(axis=1).min() > 0.3  # the blot is gone
    assert np.abs(hole - clean[mask > 0]).mean() < 0.15  # filled from the surroundings


def test_inpaint_defaults_grow_and_feather_stay_near_the_mask() -> None:
    image = from_array(clean_picture())
    mask = np.zeros((96, 128), np.float32)
    mask[40:56, 60:76] = 1
    result = tasks.run(InpaintRequest(image=image, mask=mask, model="classical-telea"))
    changed = np.any(result.image.rgb != image.rgb, axis=2)
    ys, xs = np.nonzero(changed)
    reach = 2 + 12  # grow (2 px) plus the feather's blur kernel
    assert ys.min() >= 40 - reach and ys.max() < 56 + reach
    assert xs.min() >= 60 - reach and xs.max() < 76 + reach


def test_cancelled_multi_tile_denoise_stops_between_tiles() -> None:
    # That a cancelled job writes nothing is checked where something writes: the command line
    # (tests/test_cli_options.py), not here, where only the task runs.
    dirty = noisy(clean_picture(200, 260))
    progress: list[str] = []
    state = TaskState()

    def on_progress(fraction: float, message: str) -> None:
        progress.append(message)
        if message.startswith("Tile 2 "):
            # The user presses Cancel from another thread while tile 2 is about to run.
            canceller = threading.Thread(target=state.cancel)
            canceller.start()
            canceller.join()

    state.callback = on_progress
    with pytest.raises(CancelledError):
        tasks.run(DenoiseRequest(image=from_array(dirty), model="classical-nlm", tile=64), state)
    tiles = [m for m in progress if m.startswith("Tile ")]
    total = int(tiles[0].rsplit(" ", 1)[1])
    assert total >= 20 and len(tiles) == 2  # tile 2 finishes, tile 3 never starts


def test_alpha_survives_a_task(tmp_path: Path) -> None:
    rgb = (noisy(clean_picture()) * 255).astype(np.uint8)
    alpha = np.tile(np.linspace(0, 255, 128).astype(np.uint8), (96, 1))
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(tmp_path / "in.png")
    result = tasks.run(DenoiseRequest(image=load_image(tmp_path / "in.png"), model="classical-nlm"))
    out = save_image(result.image, tmp_path / "out.png", params=result.params)
    back = Image.open(out)
    assert back.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(back)[:, :, 3], alpha)


def test_16bit_survives_a_task(tmp_path: Path) -> None:
    import cv2

    # A smooth 16-bit gradient with far more than 256 levels, plus light noise.
    ramp = np.linspace(0, 1, 256 * 8, dtype=np.float32)[None, :512].repeat(64, axis=0)
    values = to_uint16(np.clip(np.dstack([ramp, ramp * 0.5, 1 - ramp]), 0, 1))
    cv2.imwrite(str(tmp_path / "in.png"), values[:, :, ::-1])
    image = load_image(tmp_path / "in.png")
    result = tasks.run(DenoiseRequest(image=image, model="classical-nlm", strength=0.3))
    out = save_image(result.image, tmp_path / "out.png", params=result.params)
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16
    assert len(np.unique(written[:, :, 2])) > 256  # still finer than 8 bits
    assert np.abs(written[:, :, ::-1].astype(int) - values).max() < 65535 * 0.02


def test_bad_parameters_are_clear_errors() -> None:
    image = from_array(clean_picture(16, 16))
    with pytest.raises(InvalidRequestError, match="Strength must be between 0 and 1"):
        tasks.run(DenoiseRequest(image=image, model="classical-nlm", strength=1.5))
    with pytest.raises(ModelError, match="Unknown model 'nope'"):
        tasks.run(DenoiseRequest(image=image, model="nope"))
    with pytest.raises(ModelError, match="cannot inpaint"):
        tasks.run(InpaintRequest(image=image, mask=np.ones((16, 16)), model="classical-nlm"))
    with pytest.raises(InvalidRequestError, match="Unknown device"):
        tasks.run(DenoiseRequest(image=image, model="classical-nlm", device="gpu0"))
