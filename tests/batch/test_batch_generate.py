"""A folder varied with a prompt (``gptstudio batch generate``): each picture keeps its size, the
LoRA a user trained applies to every file, one seed serves the whole batch, and each output is the
picture the single-image command makes with the same settings; wrong choices fail before any file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from batch_helpers import picture, records
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))
import diffusers_tiny
from diffusers_tiny import one_torch_thread  # noqa: F401  (autouse fixture)

from gptstudio.batch import BatchOptions, run_batch
from gptstudio.cli import main
from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.core.imageio import read_params

pytest.importorskip("diffusers")


def test_a_folder_is_varied_with_a_lora_like_single_runs_with_one_seed(tmp_path: Path) -> None:
    base = diffusers_tiny.install("sd3", "tiny-sd3")
    lora = diffusers_tiny.train_lora(base, tmp_path / "captioned")
    src, out, plain_out = tmp_path / "in", tmp_path / "out", tmp_path / "plain"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(picture(40, 48, 1)).save(src / "a.png")
    Image.fromarray(picture(32, 56, 2)).save(src / "sub" / "b.png")
    common = ["--prompt", "sks dog", "--steps", "2", "--seed", "5"]
    batch = ["batch", "generate", str(src), *common]
    assert main([*batch, "-o", str(out), "--lora", lora, "--lora-strength", "0.8"]) == 0
    assert main([*batch, "-o", str(plain_out)]) == 0

    for rel, size in (("a.png", (48, 40)), ("sub/b.png", (56, 32))):
        varied = Image.open(out / rel)
        assert varied.size == size, "a variation keeps each picture's size"
        params = read_params(out / rel)
        assert params["lora"] == lora and params["lora_strength"] == 0.8 and params["seed"] == 5
        assert params["variation"] is True and params["strength"] == 0.6, "the default keeps part of it"
        alone = tmp_path / f"alone-{Path(rel).name}"
        single = ["generate", "--init", str(src / rel), *common, "--strength", "0.6", "--lora", lora,
                  "--lora-strength", "0.8", "-o", str(alone)]  # fmt: skip
        assert main(single) == 0
        assert np.array_equal(np.asarray(varied), np.asarray(Image.open(alone))), rel
        plain = np.asarray(Image.open(plain_out / rel))
        assert not np.array_equal(np.asarray(varied), plain), "the LoRA acts"
    assert {r["params"]["seed"] for r in records(out)} == {5}


def test_wrong_choices_fail_before_any_file(tmp_path: Path) -> None:
    diffusers_tiny.install("pixart-sigma", "tiny-pixart")
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(picture(32, 32, 0)).save(src / "a.png")
    out = tmp_path / "out"

    def options(**kw: object) -> BatchOptions:
        return BatchOptions(**{"task": "generate", "input_dir": src, "output_dir": out, "prompt": "a dog",
                               "strength": 0.5, **kw})  # type: ignore[arg-type]  # fmt: skip

    with pytest.raises(InvalidRequestError, match="Strength must be below 1"):
        run_batch(options(strength=1.0))
    with pytest.raises(InvalidRequestError, match="Write a prompt"):
        run_batch(options(prompt=" "))
    with pytest.raises(InvalidRequestError, match="LoRA strength"):
        run_batch(options(lora_strength=3.0))
    with pytest.raises(ModelError, match="cannot vary one"):
        run_batch(options(model="tiny-pixart"))
    assert not out.exists() or not any(out.rglob("*.png")), "nothing was written"
