"""The inpaint-default GAN recipe on the shared loop: both optimisers step, resume, export."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gptstudio.engines.native import inpaint_io
from gptstudio.engines.native.inpaint_arch import GITConfig
from gptstudio.training.recipes import inpaint_default as recipe

TINY = GITConfig(width=8, local_blocks=(1,), global_blocks=1, global_heads=2)
PHASES = ((0.0, 32, 2), (0.5, 48, 2))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        y, x = np.mgrid[0:80, 0:72].astype(np.float32)
        img = np.dstack([x / 72, y / 80, np.sin(x / 5) * 0.5 + 0.5]) * 200 + rng.uniform(0, 40, 3)
        Image.fromarray(img.astype(np.uint8)).save(root / f"{i}.png")
    return root


def _opts(folder: Path, tmp_path: Path, steps: int, **kw: object) -> recipe.Options:
    return recipe.Options(
        data=folder,
        out=tmp_path / "git.safetensors",
        run_dir=tmp_path / "run",
        minutes=None,
        steps=steps,
        warmup=1,
        precision="fp32",
        config=TINY,
        phases=PHASES,
        log_every=1,
        val=[folder],
        **kw,
    )


def test_gan_recipe_steps_both_networks_and_exports_the_ema(folder: Path, tmp_path: Path) -> None:
    logs: list[str] = []
    summary = recipe.train(_opts(folder, tmp_path, 4), logs.append)
    assert summary["steps"] == 4
    # L1 alone for the first 30 %, then the discriminator joins (its loss shows in the log).
    assert " d " not in next(s for s in logs if s.startswith("step 1 "))
    assert any(line.startswith("step 4 ") and " d " in line and " fm " in line for line in logs)
    assert any(line.startswith("val step 4") and "photos_hole_psnr" in line for line in logs)
    model, meta = inpaint_io.load(tmp_path / "git.safetensors")
    assert model.config == TINY and meta["recipe"] == "inpaint-default"
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert set(ckpt["optims"]) == {"model", "disc"} and ckpt["optims"]["disc"]["state"]


def test_gan_recipe_resumes_to_the_same_weights(folder: Path, tmp_path: Path) -> None:
    from gptstudio.core.errors import CancelledError
    from gptstudio.training import loop as loop_module

    straight = recipe.train(_opts(folder, tmp_path / "a", 4), lambda _: None)
    original = loop_module.Loop._control
    calls = {"n": 0}

    def stop_after_two(self: loop_module.Loop) -> str:
        calls["n"] += 1
        return "cancel" if self.step >= 2 else original(self)

    loop_module.Loop._control = stop_after_two  # type: ignore[method-assign]
    try:
        with pytest.raises(CancelledError):
            recipe.train(_opts(folder, tmp_path / "b", 4), lambda _: None)
    finally:
        loop_module.Loop._control = original  # type: ignore[method-assign]
    resumed = recipe.train(_opts(folder, tmp_path / "b", 4, resume=True), lambda _: None)
    assert straight["steps"] == resumed["steps"] == 4
    a, _ = inpaint_io.load(tmp_path / "a" / "git.safetensors")
    b, _ = inpaint_io.load(tmp_path / "b" / "git.safetensors")
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)


def test_init_continues_from_exported_weights_and_refuses_another_shape(folder: Path, tmp_path: Path) -> None:
    from gptstudio.core.errors import InvalidRequestError

    recipe.train(_opts(folder, tmp_path / "first", 2), lambda _: None)
    first = tmp_path / "first" / "git.safetensors"
    logs: list[str] = []
    summary = recipe.train(_opts(folder, tmp_path / "second", 1, init=first, lr=1e-9), logs.append)
    assert summary["init"] == "git.safetensors" and any("starting from the weights" in s for s in logs)
    start, _ = inpaint_io.load(first)
    after, _ = inpaint_io.load(tmp_path / "second" / "git.safetensors")
    for (name, a), b in zip(start.state_dict().items(), after.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-3), name  # a step at lr 1e-9 moves nothing
    other = GITConfig(width=12, local_blocks=(1,), global_blocks=1, global_heads=2)
    with pytest.raises(InvalidRequestError, match="not the recipe's"):
        wider = dataclasses.replace(_opts(folder, tmp_path / "third", 1, init=first), config=other)
        recipe.train(wider, lambda _: None)
