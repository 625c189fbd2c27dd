"""GUI test fixtures: a real main window, sample images, tiny engines, and a thread-leak guard."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import fake_engines
from gui_helpers import make_image
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from gptstudio.models import registry

_started: list[QThread] = []
_original_start = QThread.start


def _tracking_start(self: QThread, *args: object) -> None:
    _started.append(self)
    _original_start(self, *args)


QThread.start = _tracking_start  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_thread_left_running(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that leaves a QThread or a Python thread running (napari's rule)."""
    monkeypatch.setenv("GPTSTUDIO_DEVICE", "cpu")  # no torch import just to name the device
    before = set(threading.enumerate())
    _started.clear()
    yield
    running = [t for t in _started if _alive(t)]
    extra = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    _started.clear()
    assert not running, f"test left QThreads running: {running}"
    assert not extra, f"test left Python threads running: {extra}"


def _alive(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone, so is the thread
        return False


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the tiny test engines for this test only."""
    registry.register(fake_engines.slow_entry())
    registry.register(fake_engines.fill_entry())
    fake_engines.SlowInvert.loads = 0
    yield
    registry.clear_cache()


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    return make_image(tmp_path / "photo.png")


@pytest.fixture
def window(qtbot, engines):  # type: ignore[no-untyped-def]
    from gptstudio.app.main_window import MainWindow

    win = MainWindow()
    win.show()
    qtbot.waitExposed(win)
    yield win
    for w in QApplication.topLevelWidgets():
        if w is not win and w.isVisible():
            w.close()
    win.shutdown()  # what closing does after the user answered the unsaved-changes prompt
    win.close()
    win.deleteLater()
    qtbot.wait(1)
