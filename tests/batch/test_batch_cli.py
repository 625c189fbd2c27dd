"""``gptstudio batch`` as a user types it: exit codes, the summary line, clear refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from batch_helpers import LIMIT_MP, make_folder, records

from gptstudio.cli import main


def _batch(*args: str) -> list[str]:
    return ["batch", *args]


def test_exit_0_when_nothing_failed_with_a_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    assert main(_batch("denoise", str(src), "-o", str(out), "--model", "classical-nlm")) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("done 4, skipped 0, failed 0 in ") and "files/s" in line and "MP/s" in line
    assert main(_batch("denoise", str(src), "-o", str(out), "--model", "classical-nlm")) == 0
    assert capsys.readouterr().out.startswith("done 0, skipped 4, failed 0")


def test_exit_1_when_any_file_failed_and_the_failures_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_folder(tmp_path / "in")
    out = tmp_path / "out"
    code = main(
        _batch(
            "denoise", str(src), "-o", str(out), "--model", "classical-nlm", "--max-megapixels", str(LIMIT_MP)
        )
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "done 4, skipped 0, failed 3" in captured.out
    assert "failed: nested/notes.png:" in captured.err and "failed: big.png:" in captured.err
    assert len(records(out)) == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["denoise", "--strength", "1.5"], "Strength must be between 0 and 1"),
        (["restore", "--mode", "sharpen"], "Unknown restore mode 'sharpen'"),
        (["upscale", "--scale", "20"], "at most 16"),
        (["denoise", "--quality", "0", "--format", "jpg"], "Quality must be between 1 and 100"),
        (["inpaint"], "needs either a mask folder (--mask-dir) or one mask (--mask)"),
        (["denoise", "--mask", "m.png"], "Only inpaint uses masks"),
        (["denoise", "--model", "no-such-model"], "Unknown model 'no-such-model'"),
        (["upscale", "--model", "classical-nlm"], "cannot upscale"),
    ],
)
def test_wrong_options_fail_at_once_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    task, *rest = args
    assert main(_batch(task, str(src), "-o", str(out), *rest)) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()  # refused before anything was written


def test_output_folder_equal_to_input_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    assert main(_batch("denoise", str(src), "-o", str(src))) == 1
    assert "output folder is the input folder" in capsys.readouterr().err


def test_ray_without_the_extra_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    src = make_folder(tmp_path / "in", bad=False)
    code = main(
        _batch("denoise", str(src), "-o", str(tmp_path / "out"), "--model", "classical-nlm", "--ray", "local")
    )
    assert code == 1
    assert "install gptstudio[cluster]" in capsys.readouterr().err
