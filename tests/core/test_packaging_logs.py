"""The support log of a double-clicked app: in the user's log folder (never the program's own),
bounded by rotation, with the start line and uncaught exceptions a support request needs."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

import gptstudio
from gptstudio.core import logs
from gptstudio.core.paths import data_dir


@pytest.fixture(autouse=True)
def _detach() -> Iterator[None]:
    hooks = sys.excepthook, threading.excepthook
    yield
    logs.stop_logging()
    sys.excepthook, threading.excepthook = hooks


def test_log_goes_to_the_data_folder_when_it_is_moved_and_to_the_platform_log_folder_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert logs.log_dir() == data_dir() / "logs"  # the tests' GPTSTUDIO_DATA_DIR: one portable folder
    monkeypatch.delenv("GPTSTUDIO_DATA_DIR")
    monkeypatch.setattr(platformdirs, "user_log_dir", lambda *a, **k: str(tmp_path / "platform-logs"))
    assert logs.log_dir() == tmp_path / "platform-logs"
    program = Path(gptstudio.__file__).resolve().parent
    assert program not in logs.log_dir().resolve().parents


def test_the_log_starts_with_version_and_data_folder_and_rotates_within_its_bound(tmp_path: Path) -> None:
    path = logs.start_logging(max_bytes=4_000, backups=2)
    assert path == data_dir() / "logs" / "gptstudio.log"
    first = path.read_text(encoding="utf-8")
    assert f"GPT Studio {gptstudio.__version__}" in first and str(data_dir()) in first

    log = logging.getLogger("gptstudio.something")
    for i in range(400):
        log.info("line %04d of a long session %s", i, "x" * 40)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["gptstudio.log", "gptstudio.log.1", "gptstudio.log.2"]  # never a third old file
    assert all((path.parent / f).stat().st_size <= 4_000 for f in files)
    assert "line 0399" in path.read_text(encoding="utf-8")  # the newest lines are in the current file


def test_other_libraries_log_warnings_only_and_ours_info(tmp_path: Path) -> None:
    path = logs.start_logging()
    logging.getLogger("somelib").info("chatty detail")
    logging.getLogger("somelib").warning("a real problem")
    logging.getLogger("gptstudio.app").info("opened photo.png")
    text = path.read_text(encoding="utf-8")
    assert "chatty detail" not in text
    assert "a real problem" in text and "opened photo.png" in text


def test_an_uncaught_exception_lands_in_the_log_with_its_traceback() -> None:
    seen = []
    sys.excepthook = lambda *args: seen.append(args)  # what the hook chains to (Qt / pytest-qt / Python)
    path = logs.start_logging()
    try:
        raise ValueError("the slot failed")
    except ValueError:
        sys.excepthook(*sys.exc_info())  # what Python does for an exception nobody caught
    text = path.read_text(encoding="utf-8")
    assert "Uncaught exception" in text and "ValueError: the slot failed" in text
    assert "Traceback" in text
    assert len(seen) == 1  # and the previous hook still ran


def test_starting_again_with_another_data_folder_moves_the_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = logs.start_logging()
    monkeypatch.setenv("GPTSTUDIO_DATA_DIR", str(tmp_path / "other"))
    second = logs.start_logging()
    assert second == tmp_path / "other" / "logs" / "gptstudio.log" != first
    logging.getLogger("gptstudio").warning("after the move")
    assert "after the move" in second.read_text(encoding="utf-8")
    assert "after the move" not in first.read_text(encoding="utf-8")
