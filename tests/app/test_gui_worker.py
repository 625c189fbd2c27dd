"""The worker thread: cancel within a step, a queue of jobs, models kept loaded, GPU OOM -> CPU,
and a GUI event loop that never stalls more than 100 ms while a job runs."""

from __future__ import annotations

from typing import ClassVar

import fake_engines
import numpy as np
from gui_helpers import Gate, wait_while_held
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gptstudio.app.convert import qimage_to_rgb
from gptstudio.core.imageio import from_array
from gptstudio.tasks import common
from gptstudio.tasks.requests import DenoiseRequest


def start_slow_job(qtbot, window, image_path) -> int:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.panel.set_task("denoise")
    assert window.panel.set_model("test-slow-invert")
    qtbot.mouseClick(window.panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.panel.progress.value() > 0, timeout=10000)
    return window.controller.active_jobs()[0]


def test_cancel_stops_a_running_job_within_a_step(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    start_slow_job(qtbot, window, image_path)
    original = qimage_to_rgb(window.canvas.image_item.image())
    assert window.panel.cancel_button.isEnabled()
    qtbot.mouseClick(window.panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.controller.active_jobs(), timeout=5000)
    steps = fake_engines.SlowInvert.steps
    assert fake_engines.SlowInvert.steps_run < steps, "the engine stopped before its last step"
    assert "Cancelled" in window.panel.status.text()
    assert window.undo_stack.count() == 0
    assert np.array_equal(qimage_to_rgb(window.canvas.image_item.image()), original), "nothing changed"
    assert not window.panel.cancel_button.isEnabled()


def test_live_previews_arrive_while_running(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    start_slow_job(qtbot, window, image_path)
    qtbot.waitUntil(lambda: window.panel.preview.isVisible(), timeout=10000)
    assert not window.panel.preview.pixmap().isNull()
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=20000)
    assert window.panel.progress.value() == 1000


def test_the_engine_runs_off_the_gui_thread(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The event loop keeps running while the engine works; how long it may stall meanwhile is a
    speed goal, measured by ``benchmarks/bench_gui.py``."""
    gate = Gate(fake_engines.SlowInvert.restore)
    monkeypatch.setattr(fake_engines.SlowInvert, "restore", lambda self, *a, **k: gate(self, *a, **k))
    window.open_path(image_path)
    window.panel.set_task("denoise")
    assert window.panel.set_model("test-slow-invert")
    qtbot.mouseClick(window.panel.run_button, Qt.MouseButton.LeftButton)
    wait_while_held(qtbot, gate)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=30000)


def test_jobs_queue_and_models_stay_loaded(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    fake_engines.SlowInvert.steps = 4
    try:
        window.open_path(image_path)
        window.panel.set_task("denoise")
        window.panel.set_model("test-slow-invert")
        first = window.run_task()
        second = window.run_task()
        assert first is not None and second is not None and second > first
        assert window.controller.active_jobs() == [first, second]
        original = qimage_to_rgb(window.canvas.image_item.image())
        qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=20000)
        assert fake_engines.SlowInvert.loads == 1, "the second job reused the loaded model"
        # both results land, in order, each on the image as it is then: inverted twice = original
        assert [h["model"] for h in window.document.history] == ["test-slow-invert"] * 2
        pixels = qimage_to_rgb(window.canvas.image_item.image()).astype(int)
        assert np.abs(pixels - original.astype(int)).max() <= 1
    finally:
        fake_engines.SlowInvert.steps = 40


class _GpuHungry(fake_engines.SlowInvert):
    """Runs out of GPU memory on any device but the CPU, like a big model on a small card."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device

    tiles: ClassVar[list[tuple[str, int | None]]] = []

    def restore(self, rgb, *, strength, mode, state, tile=None):  # type: ignore[no-untyped-def]
        self.tiles.append((self.device, tile))
        if self.device != "cpu":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return 1.0 - rgb


def test_gpu_out_of_memory_retries_on_cpu_and_says_so(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from gptstudio.models import registry

    info = replace(fake_engines.SLOW_INFO, id="test-native-hungry", architecture="native-test")
    registry.register(registry.ModelEntry(info, lambda device: _GpuHungry(device), priority=300))
    tried: list[str] = []

    def fake_choose(pref):  # type: ignore[no-untyped-def]
        tried.append(str(pref))
        return "cpu" if pref == "cpu" else "cuda:0"

    monkeypatch.setattr(common, "choose_device", fake_choose)
    image = from_array(np.full((16, 16, 3), 0.25, np.float32))
    outcome: dict[str, object] = {}
    w = window.controller.worker
    w.finished.connect(lambda job, out: outcome.setdefault("out", out), Qt.ConnectionType.QueuedConnection)
    _GpuHungry.tiles = []
    window.controller.submit(DenoiseRequest(image=image, model="test-native-hungry", tile=512))
    qtbot.waitUntil(lambda: "out" in outcome, timeout=15000)
    out = outcome["out"]
    assert out.result.params["device"] == "cpu"  # type: ignore[attr-defined]
    assert "ran out of memory" in out.notice  # type: ignore[attr-defined]
    assert tried[-1] == "cpu"
    gpu_tiles = [t for d, t in _GpuHungry.tiles if d != "cpu"]
    assert gpu_tiles == [512, 256, 128], "smaller tiles were tried on the GPU first"
    assert _GpuHungry.tiles[-1][0] == "cpu"
    qtbot.waitUntil(lambda: "CPU" in window.statusBar().currentMessage(), timeout=5000)
    boxes = [b for b in window.findChildren(QMessageBox, "noticeDialog") if b.isVisible()]
    assert boxes and "ran on the CPU" in boxes[0].text(), "the user is told, not just the log"
