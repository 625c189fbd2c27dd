"""The command line as a user meets it: help, end-to-end tasks, stored parameters, clear failures."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gptstudio.cli import build_parser, main
from gptstudio.core.imageio import load_image, read_params


def _noisy_photo(path: Path, seed: int = 0) -> np.ndarray:
    """A smooth gradient image with Gaussian noise on it (σ≈20/255)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    clean = np.dstack([x / 128, y / 96, (x + y) / 224]) * 200 + 25
    noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(path)
    return clean


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for command in ("gui", "denoise", "inpaint", "info", "models"):
        assert command in out


def test_python_dash_m_answers_help_without_loading_qt_or_torch() -> None:
    code = (
        "import sys, runpy; sys.argv=['gptstudio','--help'];\n"
        "try:\n runpy.run_module('gptstudio', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print('QT' if 'PySide6' in sys.modules else 'noqt')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "denoise" in out
    assert out.strip().endswith("noqt")


def test_restore_command_only_when_an_engine_can_restore() -> None:
    def commands(help_text: str) -> set[str]:
        return {line.split()[0] for line in help_text.splitlines() if line.startswith("    ")}

    assert "restore" not in commands(build_parser(restore_available=False).format_help())
    assert "restore" in commands(build_parser(restore_available=True).format_help())


def test_launchers_are_installed() -> None:
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    gui = {e.name: e.value for e in entry_points(group="gui_scripts")}
    assert scripts.get("gptstudio") == "gptstudio.cli:main"
    assert gui.get("gptstudio-gui") == "gptstudio.app:launch"


def test_denoise_end_to_end_improves_psnr_and_stores_parameters(tmp_path: Path) -> None:
    src = tmp_path / "noisy.png"
    clean = _noisy_photo(src)
    out = tmp_path / "clean.png"
    assert main(["denoise", str(src), "-o", str(out), "--strength", "0.6", "--model", "classical-nlm"]) == 0
    result = np.asarray(Image.open(out).convert("RGB"))
    assert _psnr(result, clean) > _psnr(np.asarray(Image.open(src)), clean) + 3
    params = read_params(out)
    assert params["task"] == "denoise"
    assert params["model"] == "classical-nlm"
    assert params["strength"] == pytest.approx(0.6)
    assert params["program"].startswith("gptstudio ")


def test_inpaint_end_to_end_changes_only_the_masked_area(tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    rng = np.random.default_rng(1)
    photo = (rng.random((64, 80, 3)) * 255).astype(np.uint8)
    photo[20:40, 30:50] = (255, 0, 0)  # a red blot to remove
    Image.fromarray(photo).save(src)
    mask = np.zeros((64, 80), np.uint8)
    mask[18:42, 28:52] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "filled.png"
    rc = main(["inpaint", str(src), "--mask", str(tmp_path / "mask.png"), "-o", str(out), "--seed", "7"])
    assert rc == 0
    result = np.asarray(Image.open(out).convert("RGB"))
    far = np.ones((64, 80), bool)
    far[8:54, 18:62] = False  # away from the mask and its feathered edge
    assert np.array_equal(result[far], photo[far])
    assert not np.any(np.all(result[25:35, 35:45] == (255, 0, 0), axis=-1))
    assert read_params(out)["seed"] == 7


def test_info_prints_stored_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.png"
    _noisy_photo(src)
    out = tmp_path / "b.png"
    main(["denoise", str(src), "-o", str(out), "--strength", "0.3", "--model", "classical-nlm"])
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "classical-nlm" in text and "denoise" in text and "0.3" in text
    assert main(["info", str(src)]) == 1  # a file we did not write


def test_default_output_is_beside_the_input_and_never_overwrites(tmp_path: Path) -> None:
    src = tmp_path / "shot.jpg"
    _noisy_photo(src)
    original = src.read_bytes()
    assert main(["denoise", str(src), "--model", "classical-nlm"]) == 0
    produced = tmp_path / "shot-denoise.png"
    assert produced.exists()
    assert src.read_bytes() == original
    before = produced.read_bytes()
    assert main(["denoise", str(src), "--model", "classical-nlm"]) == 1  # refuses to overwrite
    assert produced.read_bytes() == before


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("hello, not an image"), "not an image"),
    ],
)
def test_bad_input_prints_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, expected: str
) -> None:
    src = tmp_path / "bad.png"
    make(src)
    out = tmp_path / "out.png"
    assert main(["denoise", str(src), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and "Traceback" not in err[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "empty.png"
    src.write_bytes(b"")
    assert main(["--debug", "denoise", str(src)]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_mask_of_the_wrong_size_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.png"
    _noisy_photo(src)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "m.png")
    assert main(["inpaint", str(src), "--mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "10×10" in err and "128×96" in err
    assert not (tmp_path / "o.png").exists()


def test_unknown_model_names_the_installed_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.png"
    _noisy_photo(src)
    assert main(["denoise", str(src), "--model", "nope"]) == 1
    assert "classical-nlm" in capsys.readouterr().err


def test_alpha_survives_the_command_line(tmp_path: Path) -> None:
    src = tmp_path / "rgba.png"
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., :3] = 120
    rgba[..., 3] = np.linspace(0, 255, 64).astype(np.uint8)[None, :]
    Image.fromarray(rgba, "RGBA").save(src)
    out = tmp_path / "o.png"
    assert main(["denoise", str(src), "-o", str(out), "--model", "classical-nlm"]) == 0
    back = load_image(out)
    assert back.alpha is not None
    assert np.abs(back.alpha * 255 - rgba[..., 3]).max() <= 1
