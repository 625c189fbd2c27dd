"""``gptstudio generate`` and ``gptstudio inpaint --prompt`` on tiny pipelines, as a user types them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "engines"))
import diffusers_tiny as tiny
from diffusers_tiny import one_torch_thread  # noqa: F401  (autouse fixture)

from gptstudio.cli import main
from gptstudio.core.imageio import from_array, load_image, read_params, save_image

pytest.importorskip("diffusers")


def test_generate_writes_a_png_that_remembers_every_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tiny.install("amused", "tiny-amused")
    out = tmp_path / "fox.png"
    code = main(
        ["generate", "--prompt", "a red fox", "--negative", "blur", "--size", "48x32", "--steps", "2",
         "--guidance", "5", "--seed", "42", "-o", str(out)]
    )  # fmt: skip
    assert code == 0
    assert load_image(out).size == (48, 32)
    params = read_params(out)
    assert params["task"] == "generate" and params["model"] == "tiny-amused"
    assert (params["prompt"], params["negative_prompt"], params["seed"]) == ("a red fox", "blur", 42)
    assert (params["steps"], params["guidance"], params["width"], params["height"]) == (2, 5.0, 48, 32)
    assert "needs about" in capsys.readouterr().err  # the memory estimate comes before the run


def test_generate_with_init_makes_a_variation_of_that_image(tmp_path: Path) -> None:
    tiny.install("amused", "tiny-amused")
    photo = tmp_path / "photo.png"
    save_image(from_array(np.random.default_rng(1).random((40, 56, 3), dtype=np.float32)), photo)
    out = tmp_path / "vary.png"
    code = main(
        [
            "generate",
            "--prompt",
            "a cat",
            "--init",
            str(photo),
            "--strength",
            "0.5",
            "--steps",
            "4",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert load_image(out).size == (56, 40)
    assert read_params(out)["variation"] is True and read_params(out)["strength"] == 0.5


def test_inpaint_with_a_prompt_uses_a_generation_model(tmp_path: Path) -> None:
    tiny.install("amused", "tiny-amused")
    photo, mask, out = tmp_path / "photo.png", tmp_path / "mask.png", tmp_path / "out.png"
    save_image(from_array(np.random.default_rng(2).random((64, 64, 3), dtype=np.float32)), photo)
    m = np.zeros((64, 64), np.float32)
    m[10:30, 10:30] = 1.0
    save_image(from_array(m), mask)
    code = main(
        [
            "inpaint",
            str(photo),
            "--mask",
            str(mask),
            "--prompt",
            "a hat",
            "--steps",
            "2",
            "--seed",
            "1",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert read_params(out)["model"] == "tiny-amused" and read_params(out)["prompt"] == "a hat"


def test_without_a_generation_model_the_command_says_what_to_pull(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(["generate", "--prompt", "a fox", "-o", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 1
    assert "gptstudio models pull amused-256" in err
    assert not (tmp_path / "x.png").exists()


def test_a_bad_size_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--prompt", "a fox", "--size", "big", "-o", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
