"""The restoration recipe: damage functions, patch sampling, a tiny end-to-end run with resume."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gptstudio.core.errors import InvalidRequestError
from gptstudio.engines.native import io
from gptstudio.engines.native.arch import GRT, GRTConfig
from gptstudio.training import cli as training_cli
from gptstudio.training import degrade
from gptstudio.training.data import PatchSampler, downscale, load_folder
from gptstudio.training.recipes import restoration_default as recipe

TINY = GRTConfig(width=8, enc_blocks=(1,), mid_blocks=1, dec_blocks=(1,), heads=(1, 2))


def _photo(seed: int, h: int = 128, w: int = 112) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.dstack([x / w, y / h, np.sin(x / 7) * 0.5 + 0.5]) * 200 + rng.uniform(0, 40, 3)
    return img.astype(np.uint8)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(3):
        Image.fromarray(_photo(i)).save(root / f"{i}.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_gaussian_noise_has_the_asked_strength_and_stays_8_bit() -> None:
    clean = np.full((200, 200, 3), 128, np.uint8)
    noisy = degrade.gaussian_noise(clean, 25.0, np.random.default_rng(0))
    assert noisy.dtype == np.uint8
    assert abs(float(noisy.astype(np.float64).std()) - 25.0) < 1.0
    assert degrade.gaussian_noise(clean, 0.0, np.random.default_rng(0)).tolist() == clean.tolist()


def test_camera_noise_grows_with_brightness_and_jpeg_and_blur_change_the_image() -> None:
    rng = np.random.default_rng(1)
    dark = degrade.camera_noise(np.full((64, 64, 3), 20, np.uint8), rng, shot=0.15, read=0.0, chroma=0.0)
    bright = degrade.camera_noise(np.full((64, 64, 3), 220, np.uint8), rng, shot=0.15, read=0.0, chroma=0.0)
    assert bright.astype(float).std() > 2 * dark.astype(float).std()
    img = _photo(0)
    assert (
        np.abs(degrade.jpeg(img, 10).astype(int) - img).mean()
        > np.abs(degrade.jpeg(img, 90).astype(int) - img).mean()
    )
    blurred = degrade.blur(img, 1.5)
    assert (
        blurred.shape == img.shape
        and np.abs(np.diff(blurred.astype(float), axis=1)).mean()
        < np.abs(np.diff(img.astype(float), axis=1)).mean()
    )


def test_mix_draws_every_kind_and_mode() -> None:
    mix = degrade.DegradationMix()
    rng = np.random.default_rng(2)
    clean = _photo(3)[:64, :64]
    modes = {mix.sample(clean, rng)[1] for _ in range(200)}
    assert modes == {degrade.MODE_ALL, degrade.MODE_JPEG, degrade.MODE_DEBLUR, degrade.MODE_DENOISE}


def test_sampler_batches_and_refuses_an_empty_folder(folder: Path, tmp_path: Path) -> None:
    images = load_folder(folder)
    assert len(images) == 3
    noisy, clean, modes = PatchSampler(images, degrade.DegradationMix(), seed=0).batch(5, 48)
    assert noisy.shape == clean.shape == (5, 3, 48, 48) and modes.shape == (5,)
    assert 0 <= float(noisy.min()) and float(noisy.max()) <= 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidRequestError, match="No usable images"):
        load_folder(tmp_path / "empty")


def test_tiny_run_exports_loadable_weights_and_resumes(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    opts = recipe.Options(
        data=folder,
        out=out,
        run_dir=tmp_path / "run",
        minutes=None,
        steps=3,
        warmup=1,
        config=TINY,
        val=[folder],
    )
    logs: list[str] = []
    summary = recipe.train(opts, logs.append)
    assert summary["steps"] == 3 and (tmp_path / "run" / "last.pt").is_file()
    model, meta = io.load(out)
    assert model.config == TINY and meta["recipe"] == "restoration-default" and meta["steps"] == "3"
    assert any(line.startswith("val step 3") and "photos denoise" in line for line in logs)
    opts.steps, opts.resume = 5, True
    logs.clear()
    assert recipe.train(opts, logs.append)["steps"] == 5
    assert any("resumed" in line and "step 3" in line for line in logs)


def test_fine_tuning_starts_from_the_given_weights_and_refuses_another_shape(
    folder: Path, tmp_path: Path
) -> None:
    start = tmp_path / "start.safetensors"
    io.save(GRT(TINY), start)
    base, _ = io.load(start)
    opts = recipe.Options(
        data=folder,
        out=tmp_path / "tuned.safetensors",
        run_dir=tmp_path / "run",
        minutes=None,
        steps=1,
        warmup=1,
        lr=1e-6,
        config=TINY,
        init=start,
    )
    logs: list[str] = []
    assert recipe.train(opts, logs.append)["init"] == "start.safetensors"
    tuned, _ = io.load(opts.out)
    # One step at a tiny learning rate: the result is the start, nudged, not a fresh random network.
    for (name, a), b in zip(base.state_dict().items(), tuned.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-3), name
    other = tmp_path / "other.safetensors"
    io.save(GRT(GRTConfig(width=8, enc_blocks=(1,), mid_blocks=2, dec_blocks=(1,), heads=(1, 2))), other)
    opts.init = other
    with pytest.raises(InvalidRequestError, match="not the recipe's"):
        recipe.train(opts, logs.append)


def test_downscaled_copies_keep_fine_detail_and_share_the_batch(folder: Path) -> None:
    images = load_folder(folder)
    # Halving with area averaging: a one-pixel checkerboard of colour becomes flat, not aliased.
    board = np.indices((64, 64)).sum(0) % 2
    checker = np.dstack([board * 255, 255 - board * 255, np.zeros_like(board)]).astype(np.uint8)
    assert np.abs(downscale(checker, 0.5)[..., :2].astype(int) - 127).max() <= 1
    sampler = PatchSampler(images, degrade.DegradationMix(), seed=0, scales=((1.0, 0.5), (0.5, 0.5)))
    assert [im.shape[:2] for im in sampler.levels[1]] == [(64, 56)] * 3
    # 48 px patches fit both copies; 80 px ones fit only the full-size photos, which take over.
    assert sampler.batch(4, 48)[0].shape == (4, 3, 48, 48)
    assert sampler.batch(4, 80)[0].shape == (4, 3, 80, 80)
    with pytest.raises(InvalidRequestError, match="smaller than the 200 px"):
        sampler.batch(1, 200)
    with pytest.raises(InvalidRequestError, match="positive weight"):
        PatchSampler(images, degrade.DegradationMix(), scales=((0.5, 0.0),))


def test_train_command_parses_the_recipe_options() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    training_cli.register(sub)
    args = parser.parse_args(
        [
            "train",
            "--recipe",
            "restoration-default",
            "--data",
            "x",
            "--steps",
            "2",
            "--val",
            "a",
            "--val",
            "b",
        ]
    )
    assert args.func is training_cli.run_train and args.steps == 2 and args.minutes is None
    assert args.val == [Path("a"), Path("b")] and args.init is None
    with pytest.raises(InvalidRequestError, match="--steps, --minutes"):
        recipe.run_args(parser.parse_args(["train", "--data", "x"]))


def test_inference_attention_window_is_the_last_training_patch() -> None:
    from gptstudio.engines.native.engine import ATTENTION_WINDOW

    assert recipe.PATCH_PHASES[-1][1] == ATTENTION_WINDOW


def test_bf16_run_with_noise_levels_exports_fp32(folder: Path, tmp_path: Path) -> None:
    """The v3 recipe: bf16 autocast (asked for, so any CPU runs it), noise-level labels, a
    timing of both precisions in the log, and fp32 weights with the noise input in the file."""
    noisy_tiny = GRTConfig(**{**TINY.to_dict(), "noise_level": True})
    out = tmp_path / "w.safetensors"
    opts = recipe.Options(
        data=folder,
        out=out,
        run_dir=tmp_path / "run",
        minutes=None,
        steps=2,
        warmup=1,
        config=noisy_tiny,
        precision="bf16",
        compare_precision=True,
    )
    logs: list[str] = []
    summary = recipe.train(opts, logs.append)
    assert summary["precision"] == "bf16 autocast"
    assert any("steps per second" in line and "fp32" in line and "bf16" in line for line in logs)
    model, meta = io.load(out)
    assert model.config.noise_level and meta["precision"] == "bf16 autocast"
    assert all(t.dtype == torch.float32 for t in model.state_dict().values())


def test_noise_labels_mix_true_estimated_and_unknown_levels() -> None:
    from gptstudio.training.noise_levels import label_noise_levels

    rng = np.random.default_rng(0)
    clean = torch.full((400, 3, 32, 32), 0.5)
    noisy = clean + torch.randn_like(clean) * (20 / 255)
    levels = label_noise_levels(noisy, clean, rng).numpy()
    unknown = levels < 0
    assert 0.1 < unknown.mean() < 0.3  # a fifth are blind
    assert np.all(np.abs(levels[~unknown] - 20) < 20 * 0.2)  # true (jittered) or estimated σ
