"""`gptstudio upscale` as a user runs it: exact sizes, any model, parameters stored, clear failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from spandrel_tiny import save_as_authors_do, tiny_compact, tiny_swinir

from gptstudio.cli import main
from gptstudio.core.imageio import read_params


def _photo(path: Path, w: int = 40, h: int = 30) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    pixels = np.dstack([x / w, y / h, (x + y) / (w + h)]) * 200 + rng.normal(0, 10, (h, w, 3)) + 25
    arr = np.clip(pixels, 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def test_help_lists_upscale(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["upscale", "--help"])
    out = capsys.readouterr().out
    assert "--scale" in out and "--model" in out and "--tile" in out and "--device" in out


def test_upscale_offline_with_lanczos_any_factor(tmp_path: Path) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    _photo(src)
    assert main(["upscale", str(src), "-o", str(out), "--scale", "2.5"]) == 0
    assert Image.open(out).size == (100, 75)
    params = read_params(out)
    assert (params["task"], params["model"], float(params["scale"])) == ("upscale", "classical-lanczos", 2.5)


def test_upscale_with_community_models_from_files(tmp_path: Path) -> None:
    from spandrel_tiny import register_file

    torch.manual_seed(0)
    _pth, compact = save_as_authors_do(tiny_compact(4), tmp_path, "compact")
    swinir, _st = save_as_authors_do(tiny_swinir(2), tmp_path, "swinir")
    register_file("tiny-compact", compact)
    register_file("tiny-swinir", swinir)
    src = tmp_path / "in.png"
    _photo(src)
    for model, scale, tile in (("tiny-compact", "4", "16"), ("tiny-swinir", "3", "0")):
        out = tmp_path / f"{model}.png"
        args = ["upscale", str(src), "-o", str(out), "--scale", scale, "--model", model, "--tile", tile]
        assert main([*args, "--device", "cpu"]) == 0
        assert Image.open(out).size == (40 * int(scale), 30 * int(scale))
        params = read_params(out)
        assert params["model"] == model and int(params["tile"]) == int(tile) and params["device"] == "cpu"


def test_upscale_failures_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.png"
    _photo(src)
    with pytest.raises(SystemExit) as stop:  # refused while the options are read, before any work
        main(["upscale", str(src), "-o", str(tmp_path / "a.png"), "--scale", "40"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gptstudio upscale: argument --scale: scale must be above 1 and at most 16, not 40")
    assert "\n" not in err
    assert main(["upscale", str(src), "-o", str(tmp_path / "b.png"), "--max-megapixels", "0.01"]) == 1
    err = capsys.readouterr().err.strip()
    assert "160×120" in err and "--max-megapixels 0.02" in err and "\n" not in err
    assert "0.019 megapixels" in err and "limit of 0.01 megapixels" in err and " 0 megapixels" not in err
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()
