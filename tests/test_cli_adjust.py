"""``gptstudio adjust``: one image with exact levels, 16-bit kept, parameters stored; a folder
through the batch machinery (mirrored, resumable); clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gptstudio.cli import main
from gptstudio.core.imageio import load_image, read_params


def grey_png(path: Path, levels: list[int]) -> Path:
    v = np.repeat(np.asarray(levels, np.uint8).reshape(1, -1), 2, axis=0)  # two rows: the minimum size
    Image.fromarray(np.dstack([v, v, v])).save(path)
    return path


def test_levels_and_brightness_on_one_image(tmp_path: Path) -> None:
    src = grey_png(tmp_path / "in.png", [16, 128, 235])
    out = tmp_path / "out.png"
    assert main(["adjust", str(src), "-o", str(out), "--levels", "16", "235"]) == 0
    assert np.asarray(Image.open(out))[0, :, 0].tolist() == [0, 130, 255]  # 128 -> (128 - 16) / 219 × 255
    params = read_params(out)
    assert params["task"] == "adjust" and params["black"] == pytest.approx(16 / 255)
    out2 = tmp_path / "out2.png"
    assert main(["adjust", str(src), "-o", str(out2), "--brightness", "0.1", "--contrast", "1"]) == 0
    assert np.asarray(Image.open(out2))[0, :, 0].tolist() == [42, 154, 255]  # +25.5 levels, rounded


def test_auto_levels_on_a_sixteen_bit_image_stays_sixteen_bit(tmp_path: Path) -> None:
    v = np.linspace(10000, 40000, 64 * 64).astype(np.uint16).reshape(64, 64)
    src = tmp_path / "in16.png"
    Image.fromarray(v).save(src)  # 16-bit grey
    out = tmp_path / "out16.png"
    assert main(["adjust", str(src), "-o", str(out), "--auto-levels"]) == 0
    result = load_image(out)
    assert result.bit_depth == 16
    values = np.unique(np.round(result.rgb[..., 0] * 65535))
    assert values.min() == 0 and values.max() == 65535 and values.size > 256  # more levels than 8 bits
    assert read_params(out)["auto_levels"] is True


def test_grey_point_removes_a_colour_cast(tmp_path: Path) -> None:
    warm = np.zeros((20, 20, 3), np.uint8)
    warm[...] = (180, 150, 120)
    src = tmp_path / "warm.png"
    Image.fromarray(warm).save(src)
    out = tmp_path / "neutral.png"
    assert main(["adjust", str(src), "-o", str(out), "--grey-point", "10", "10"]) == 0
    pixel = np.asarray(Image.open(out))[10, 10].astype(int)
    assert pixel.max() - pixel.min() <= 1


def test_a_folder_is_adjusted_like_a_batch_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "shoot"
    (src / "day2").mkdir(parents=True)
    grey_png(src / "a.png", [16, 235])
    grey_png(src / "day2" / "b.png", [16, 100])
    out = tmp_path / "normalised"
    args = ["adjust", str(src), "-o", str(out), "--levels", "16", "235", "--workers", "1"]
    assert main(args) == 0
    assert np.asarray(Image.open(out / "a.png"))[0, :, 0].tolist() == [0, 255]
    assert np.asarray(Image.open(out / "day2" / "b.png"))[0, 0, 0] == 0
    first = capsys.readouterr().out
    assert "done 2" in first
    assert main(args) == 0  # a rerun finds the manifest and redoes nothing
    assert "done 0, skipped 2" in capsys.readouterr().out
    assert main([*args[:-2], "--brightness", "0.05", "--workers", "1"]) == 0  # other values: redone
    assert "done 2" in capsys.readouterr().out
    records = [json.loads(line) for line in (out / "gptstudio-batch.jsonl").read_text().splitlines()]
    assert any(r.get("params", {}).get("brightness") == 0.05 for r in records if r["kind"] == "file")


def test_refusals_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = grey_png(tmp_path / "in.png", [1, 2, 3])
    assert main(["adjust", str(src), "-o", str(tmp_path / "o.png"), "--levels", "200", "100"]) == 1
    assert "white point" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["adjust", str(src), "--contrast", "9"])
    assert "contrast must be between 0 and 4" in capsys.readouterr().err
    assert main(["adjust", str(tmp_path), "--brightness", "0.1"]) == 1
    assert "output folder" in capsys.readouterr().err
