"""Command-line details a user meets: wrong numbers refused plainly, a readable ``info``, opaque
fills from ``--mask-from-alpha``, a progress bar that says how long is left, and a cancelled job
that leaves nothing behind."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gptstudio import cli_progress
from gptstudio.cli import main
from gptstudio.cli_progress import ProgressBar
from gptstudio.core.imageio import from_array, read_params, save_image


def _photo(path: Path, alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    rgb = np.clip(
        np.dstack([x / 128, y / 96, (x + y) / 224]) * 200 + 25 + rng.normal(0, 20, (96, 128, 3)), 0, 255
    )
    arr = rgb.astype(np.uint8)
    if alpha:
        a = np.full((96, 128), 255, np.uint8)
        a[30:50, 40:70] = 0  # erased to transparency in another editor
        arr = np.dstack([arr, a])
    Image.fromarray(arr).save(path)
    return arr


BAD_OPTIONS = [
    (["denoise", "--quality", "150"], "argument --quality: quality must be between 1 and 100, not 150"),
    (["denoise", "--tile", "-5"], "argument --tile: tile must be 0 or more (0 = the whole image), not -5"),
    (["denoise", "--strength", "2"], "argument --strength: strength must be between 0 and 1, not 2"),
    (["denoise", "--max-megapixels", "-1"], "max-megapixels must be above 0, not -1"),
    (["upscale", "--scale", "0"], "argument --scale: scale must be above 1 and at most 16, not 0"),
    (["upscale", "--scale", "inf"], "scale must be above 1 and at most 16, not inf"),
    (["inpaint", "--mask-from-alpha", "--steps", "0"], "steps must be between 1 and 1000, not 0"),
    (["inpaint", "--mask-from-alpha", "--feather", "-1"], "feather must be between 0 and 256, not -1"),
    (["inpaint", "--mask-from-alpha", "--grow", "999"], "grow must be between 0 and 256, not 999"),
    (["inpaint", "--mask-from-alpha", "--seed", "-3"], "seed must be between 0 and 2147483647, not -3"),
    (["denoise", "--tile", "big"], "tile must be a whole number, not 'big'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_OPTIONS, ids=[" ".join(a[1:]) for a, _ in BAD_OPTIONS])
def test_out_of_range_numbers_are_refused_in_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    _photo(src, alpha=True)
    with pytest.raises(SystemExit) as stop:
        main([argv[0], str(src), "-o", str(out), *argv[1:]])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err and err.startswith(f"gptstudio {argv[0]}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_errors_do_not_name_libraries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.png").write_text("a shopping list")
    assert main(["denoise", str(tmp_path / "notes.png")]) == 1
    err = capsys.readouterr().err
    assert "not an image" in err
    for name in ("Pillow", "PIL", "OpenCV", "cv2", "torch"):
        assert name not in err


def test_info_prints_a_two_column_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = {
        "task": "inpaint",
        "model": "classical-telea",
        "seed": 7,
        "mask_from_alpha": True,
        "history": [{"task": "denoise", "strength": 0.5}, {"task": "inpaint", "seed": 7}],
    }
    out = save_image(from_array(np.zeros((8, 8, 3), np.uint8)), tmp_path / "r.jpg", params=params)
    assert main(["info", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert table["task"] == "inpaint" and table["seed"] == "7" and table["mask_from_alpha"] == "true"
    assert table["history.1.strength"] == "0.5" and table["history.2.task"] == "inpaint"
    assert len({line.index(table[line.split()[0]]) for line in lines}) == 1  # values line up
    assert not any("{" in line or "'" in line for line in lines)  # no Python dict repr
    assert main(["info", "--json", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == read_params(out)


def test_mask_from_alpha_fills_the_hole_and_makes_it_opaque(tmp_path: Path) -> None:
    src, out = tmp_path / "cutout.png", tmp_path / "filled.png"
    original = _photo(src, alpha=True)
    assert main(["inpaint", str(src), "--mask-from-alpha", "-o", str(out), "--seed", "3"]) == 0
    result = np.asarray(Image.open(out))
    assert result.shape[2] == 4
    assert (result[30:50, 40:70, 3] == 255).all()  # no hole left
    assert (result[:20, :, 3] == 255).all() and np.array_equal(result[:20, :, :3], original[:20, :, :3])
    params = read_params(out)
    assert params["mask_from_alpha"] is True and params["seed"] == 3


def test_progress_bar_shows_time_left_only_for_longer_jobs() -> None:
    now = [0.0]
    bar = ProgressBar("denoise", file=io.StringIO(), clock=lambda: now[0], disable=True)
    assert bar.status(0.0, "Loading") == "0:00, Loading"
    now[0] = 4.0  # the model took 4 s to load: not part of the tiles' rate
    assert bar.status(0.0, "Tile 1 of 10") == "0:04, Tile 1 of 10"
    now[0] = 6.0
    assert bar.status(0.1, "Tile 2 of 10") == "0:06, about 0:18 left, Tile 2 of 10"
    now[0] = 24.0
    assert bar.status(0.5, "Tile 6 of 10") == "0:24, about 0:20 left, Tile 6 of 10"
    now[0] = 25.0  # out of memory: the task starts again with smaller tiles
    assert bar.status(0.0, "Tile 1 of 40") == "0:25, Tile 1 of 40"
    now[0] = 35.0
    assert bar.status(0.25, "Tile 11 of 40") == "0:35, about 0:30 left, Tile 11 of 40"
    short = ProgressBar("denoise", clock=lambda: now[0], disable=True)
    now[0] += 1.0
    assert "left" not in short.status(0.5, "")  # a one-second job shows no guess


def test_the_bar_draws_its_text(tmp_path: Path) -> None:
    now = [0.0]
    stream = io.StringIO()
    with ProgressBar("denoise", file=stream, clock=lambda: now[0], disable=False) as bar:
        bar.state.report(0.0, "Tile 1 of 4")
        now[0] = 10.0
        bar.state.report(0.5, "Tile {3} of 4")
    assert "50%" in stream.getvalue() and "0:10, about 0:10 left, Tile {3} of 4" in stream.getvalue()


def test_cancel_during_a_job_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "noisy.png", tmp_path / "result.png"
    _photo(src)
    original = src.read_bytes()
    seen: list[str] = []
    status = cli_progress.ProgressBar.status

    def cancel_at_tile_2(self: ProgressBar, fraction: float, message: str) -> str:
        seen.append(message)
        if message.startswith("Tile 2 "):
            self.state.cancel()  # what Cancel (or Ctrl-C) does while tile 2 is about to run
        return status(self, fraction, message)

    monkeypatch.setattr(cli_progress.ProgressBar, "status", cancel_at_tile_2)
    assert main(["denoise", str(src), "-o", str(out), "--model", "classical-nlm", "--tile", "32"]) == 130
    assert "cancelled" in capsys.readouterr().err.lower()
    assert any(m.startswith("Tile 2 ") for m in seen) and not any(m.startswith("Tile 3 ") for m in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noisy.png"]  # no result, no temporary file
    assert src.read_bytes() == original
