"""The upscale task, and community models in denoise/restore, through the task API."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from spandrel_tiny import build_all, register_file

from gptstudio import tasks
from gptstudio.core.errors import CancelledError, InvalidRequestError, ModelError
from gptstudio.core.imageio import from_array, load_image, save_image, to_uint16
from gptstudio.core.progress import TaskState
from gptstudio.engines.classical.lanczos import resize
from gptstudio.tasks import DenoiseRequest, RestoreRequest, UpscaleRequest
from gptstudio.tasks.upscale import model_passes


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    return build_all(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def tiny(files: dict[str, tuple[Path, Path]]) -> dict[str, tuple[Path, Path]]:
    """The tiny models installed in this test's registry under ``tiny-<name>``."""
    for name, (pth, _st) in files.items():
        register_file(f"tiny-{name}", pth)
    return files


def picture(h: int = 30, w: int = 40, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.dstack([x / w, y / h, 0.5 + 0.4 * np.sin(x / 3) * np.cos(y / 4)])
    return np.clip(base + np.random.default_rng(seed).normal(0, 0.04, base.shape), 0, 1).astype(np.float32)


def test_classical_lanczos_is_the_offline_default_for_any_factor() -> None:
    image = from_array(picture())
    result = tasks.run(UpscaleRequest(image=image, scale=2.5))
    assert result.image.size == (100, 75)
    assert result.params["model"] == "classical-lanczos"
    assert result.params["task"] == "upscale" and result.params["scale"] == 2.5
    assert result.params["model_passes"] == 0  # resampled in one step, not chained
    np.testing.assert_allclose(result.image.rgb, resize(image.rgb, 100, 75), atol=1e-6)


@pytest.mark.parametrize(
    ("model", "factor", "passes"),
    [("tiny-compact-x4", 4, 1), ("tiny-compact-x4", 8, 1), ("tiny-compact-x4", 16, 2),
     ("tiny-compact-x4", 3, 1), ("tiny-swinir-x2", 2, 1), ("tiny-swin2sr-x2", 5, 2)],
)  # fmt: skip
def test_any_factor_gives_the_exact_size(tiny: object, model: str, factor: float, passes: int) -> None:
    image = from_array(picture(9, 13))
    result = tasks.run(UpscaleRequest(image=image, model=model, scale=factor))
    assert result.image.size == (round(13 * factor), round(9 * factor))
    assert result.params["model_passes"] == passes == model_passes(factor, result.params["model_scale"])
    assert (result.params["model"], result.params["device"]) == (model, "cpu")
    lanczos = resize(image.rgb, *result.image.size)
    assert np.abs(result.image.rgb - lanczos).mean() > 1e-3  # the model did something


def test_tile_is_recorded_and_tiles_agree_with_the_whole_image(tiny: object) -> None:
    image = from_array(picture(60, 80))
    whole = tasks.run(UpscaleRequest(image=image, model="tiny-compact-x4", scale=4, tile=0))
    tiled = tasks.run(UpscaleRequest(image=image, model="tiny-compact-x4", scale=4, tile=32))
    assert (whole.params["tile"], tiled.params["tile"]) == (0, 32)
    assert np.abs(whole.image.rgb - tiled.image.rgb).max() < 2e-3
    default = tasks.run(UpscaleRequest(image=image, model="tiny-compact-x4", scale=4))
    assert default.params["tile"] == 512  # the model tiles well: the engine's hint


def test_alpha_is_enlarged_with_lanczos_and_16_bits_survive(tiny: object, tmp_path: Path) -> None:
    ramp = np.linspace(0, 1, 64, dtype=np.float32)[None, :].repeat(24, axis=0)
    rgb16 = to_uint16(np.dstack([ramp, ramp * 0.5, 1 - ramp]))
    alpha16 = to_uint16((ramp + np.linspace(0, 1, 24, dtype=np.float32)[:, None]) / 2)  # diagonal ramp
    cv2.imwrite(str(tmp_path / "in.png"), np.dstack([rgb16[:, :, ::-1], alpha16]))
    image = load_image(tmp_path / "in.png")
    assert image.bit_depth == 16 and image.alpha is not None
    result = tasks.run(UpscaleRequest(image=image, model="tiny-compact-x4", scale=4))
    np.testing.assert_allclose(result.image.alpha, resize(image.alpha, 256, 96), atol=1e-6)
    out = save_image(result.image, tmp_path / "out.png", params=result.params)
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16 and written.shape == (96, 256, 4)
    assert len(np.unique(written[:, :, 3])) > 256  # the alpha is smooth, finer than 8 bits


@pytest.mark.parametrize(
    ("factor", "message"),
    [(1.0, "above 1 and at most 16, not 1"), (0.5, "not 0.5"), (17, "not 17"), (float("nan"), "not nan")],
)
def test_bad_factors_are_clear_errors(factor: float, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        tasks.run(UpscaleRequest(image=from_array(picture()), scale=factor))


def test_results_above_the_pixel_limit_are_refused_before_any_work(tiny: object) -> None:
    image = from_array(picture(100, 100))
    with pytest.raises(InvalidRequestError, match=r"1600×1600 .* --max-megapixels 3"):
        tasks.run(UpscaleRequest(image=image, scale=16, max_megapixels=1))
    # ×2 from a ×4 model needs its ×4 result first: that is checked too.
    with pytest.raises(InvalidRequestError, match=r"×4 model's own result would be 400×400"):
        tasks.run(UpscaleRequest(image=image, model="tiny-compact-x4", scale=2, max_megapixels=0.1))
    with pytest.raises(ModelError, match="cannot upscale"):
        tasks.run(UpscaleRequest(image=image, model="classical-nlm", scale=2))
    with pytest.raises(InvalidRequestError, match="tile size cannot be negative"):
        tasks.run(UpscaleRequest(image=image, scale=2, tile=-1))


def test_cancelled_upscale_stops_between_tiles(tiny: object) -> None:
    state = TaskState()

    def progress(_fraction: float, message: str) -> None:
        if message.startswith("Tile 3 "):
            state.cancel()

    state.callback = progress
    with pytest.raises(CancelledError):
        tasks.run(UpscaleRequest(image=from_array(picture(96, 96)), model="tiny-compact-x4", tile=32), state)


@pytest.mark.parametrize("model", ["tiny-swinir-denoise", "tiny-drunet"])
def test_community_denoisers_run_through_denoise_and_restore(tiny: object, model: str) -> None:
    image = from_array(picture(40, 52))
    denoised = tasks.run(DenoiseRequest(image=image, model=model))
    assert denoised.image.size == image.size
    assert np.abs(denoised.image.rgb - image.rgb).mean() > 1e-3
    assert denoised.params == {**denoised.params, "task": "denoise", "model": model, "strength": 1.0}
    restored = tasks.run(RestoreRequest(image=image, model=model, mode="jpeg", strength=0.5))
    np.testing.assert_allclose(
        restored.image.rgb, np.clip(image.rgb + 0.5 * (denoised.image.rgb - image.rgb), 0, 1), atol=1e-5
    )
    with pytest.raises(ModelError, match="cannot upscale"):
        tasks.run(UpscaleRequest(image=image, model=model))
