"""Autosave keeps out of the way of a result landing: it waits for a pending result, a write in
flight stops at its next step while the window is busy, and nothing it protects is lost."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from gui_helpers import drag
from PySide6.QtWidgets import QApplication

from gptstudio.app import autosave
from gptstudio.app.document import read_snapshot
from gptstudio.engines.base import EngineInfo, RestorationEngine
from gptstudio.models.registry import ModelEntry, register

HELD_INFO = EngineInfo(
    id="test-held-invert", name="Held invert (test)", tasks=("denoise",), architecture="test-held",
    description="Inverts the image once the test lets it.", tile=0, uses=frozenset({"strength"}),
    licence="test",
)  # fmt: skip


class HeldInvert(RestorationEngine):
    info = HELD_INFO
    go = threading.Event()
    running = threading.Event()

    def restore(self, rgb, *, strength, mode, state, tile=None):  # type: ignore[no-untyped-def]
        type(self).running.set()
        type(self).go.wait(30)
        return 1.0 - rgb


def test_autosave_due_while_a_result_is_pending_waits_then_holds_it(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    HeldInvert.go.clear()
    HeldInvert.running.clear()
    register(ModelEntry(HELD_INFO, lambda device: HeldInvert(), priority=100))
    window.open_path(image_path)
    drag(window, [(30, 30), (80, 30)])  # an unsaved edit: there is something to autosave
    window.panel.set_task("denoise")
    window.panel.set_model("test-held-invert")
    window.act_run.trigger()
    qtbot.waitUntil(HeldInvert.running.is_set, timeout=15000)
    folder = window.autosaver.folder
    try:
        assert not window.autosaver.save_now(), "no autosave starts while a result is pending"
        qtbot.wait(100)  # the autosave looks again every few ms: it keeps waiting
        assert not (folder / "document.ora").exists() and not window.autosaver.busy()
    finally:
        HeldInvert.go.set()
    qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=15000)
    qtbot.waitUntil(lambda: (folder / "document.ora").exists() and not window.autosaver.busy(), timeout=15000)
    snap = read_snapshot(folder)
    assert snap.history and snap.history[-1]["model"] == "test-held-invert", "the landed result is in it"
    assert np.allclose(snap.image.rgb, window.document.image.rgb)
    assert snap.mask is not None and snap.mask[30, 50] == 255, "and the mask painted before"


def test_a_write_in_flight_waits_at_its_next_step_while_busy(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window_busy = [False]
    saver = window.autosaver
    monkeypatch.setattr(saver, "_held", lambda: window_busy[0])
    entered, steps_done = threading.Event(), []
    proceed = threading.Event()

    def write_in_steps(folder, snap, checkpoint=None):  # type: ignore[no-untyped-def]
        entered.set()
        proceed.wait(30)
        for step in range(3):
            checkpoint()
            steps_done.append(step)

    monkeypatch.setattr(autosave, "write_snapshot", write_in_steps)
    window.open_path(image_path)
    drag(window, [(30, 30), (80, 30)])
    assert saver.save_now()
    qtbot.waitUntil(entered.is_set, timeout=10000)
    window_busy[0] = True  # a result starts landing
    qtbot.waitUntil(saver.paused, timeout=10000)
    proceed.set()
    for _ in range(20):  # the event loop runs on while the writer is parked
        QApplication.processEvents()
        qtbot.wait(5)
    assert steps_done == [], "the writer waits at its checkpoint while the window is busy"
    window_busy[0] = False
    qtbot.waitUntil(lambda: steps_done == [0, 1, 2], timeout=10000)
    assert saver.wait(10)


def test_a_long_held_autosave_goes_ahead(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The document matters more than a slow repaint: past MAX_HOLD_S the autosave writes anyway."""
    monkeypatch.setattr(window.autosaver, "_held", lambda: True)
    window.open_path(image_path)
    drag(window, [(30, 30), (80, 30)])
    assert not window.autosaver.save_now()
    monkeypatch.setattr(autosave, "MAX_HOLD_S", 0.0)
    qtbot.waitUntil(
        lambda: (window.autosaver.folder / "document.ora").exists() and not window.autosaver.busy(),
        timeout=10000,
    )
    assert read_snapshot(window.autosaver.folder).mask[30, 50] == 255


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have their own niceness on Linux")
def test_the_writer_runs_below_the_window_even_in_a_niced_editor(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    import os

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []
    runner = window.autosaver.runner
    assert runner.start(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    assert runner.wait(10)
    assert seen == [min(19, mine + 10)], "added to the editor's own niceness, as `nice` started it"


def test_an_undo_step_parks_a_write_in_flight(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Undoing a whole-image result (its work runs off the GUI thread) parks the autosave writer
    for as long as the step runs, without waiting for the writer's next look."""
    import fake_engines
    from gui_helpers import Gate
    from PySide6.QtCore import QTimer

    from gptstudio.app import history

    monkeypatch.setattr(fake_engines.SlowInvert, "steps", 2)
    window.open_path(image_path)
    window.panel.set_task("denoise")
    assert window.panel.set_model("test-slow-invert")
    window.act_run.trigger()
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1 and not window.jobs.jobs, timeout=15000)
    saver = window.autosaver
    proceed = threading.Event()

    def write_in_steps(folder, snap, checkpoint=None):  # type: ignore[no-untyped-def]
        proceed.wait(30)
        checkpoint()

    monkeypatch.setattr(autosave, "write_snapshot", write_in_steps)
    qtbot.waitUntil(lambda: not saver.window_busy(), timeout=10000)  # the landing has settled
    saver.mark_changed()
    assert saver.save_now() and not saver.paused()
    gate = Gate(history.rebuilt)
    monkeypatch.setattr(history, "rebuilt", gate)
    seen: list[bool] = []

    def while_the_step_runs() -> None:
        if not gate.entered.is_set():
            QTimer.singleShot(5, while_the_step_runs)
            return
        seen.append(saver.paused())
        gate.released.set()

    QTimer.singleShot(0, while_the_step_runs)
    window.undo_stack.undo()  # runs its own event loop until the held step is let go
    assert gate.threads and threading.main_thread() not in gate.threads
    assert seen == [True], "the writer was parked while the undo step ran"
    proceed.set()
    qtbot.waitUntil(lambda: not saver.busy(), timeout=10000)


def test_a_stale_parked_write_gives_way_to_a_fresh_one(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A result landing under a parked write makes that write stale: it is abandoned (so it stops
    holding the old image) and the new state is written once the window is quiet."""
    window_busy = [False]
    saver = window.autosaver
    monkeypatch.setattr(saver, "_held", lambda: window_busy[0])
    calls: list[object] = []
    finished: list[object] = []
    entered, proceed = threading.Event(), threading.Event()

    def write_in_steps(folder, snap, checkpoint=None):  # type: ignore[no-untyped-def]
        calls.append(snap)
        entered.set()
        proceed.wait(30)
        for _ in range(3):
            checkpoint()
        finished.append(snap)

    monkeypatch.setattr(autosave, "write_snapshot", write_in_steps)
    window.open_path(image_path)
    drag(window, [(30, 30), (80, 30)])
    assert saver.save_now()
    qtbot.waitUntil(entered.is_set, timeout=10000)
    window_busy[0] = True  # a result lands while the write is in flight ...
    qtbot.waitUntil(saver.paused, timeout=10000)
    drag(window, [(30, 90), (80, 90)])  # ... and the document changes under it
    saver.mark_changed()
    proceed.set()
    qtbot.waitUntil(lambda: not saver.busy(), timeout=10000)
    assert finished == [], "the stale write gave up at its checkpoint"
    window_busy[0] = False
    qtbot.waitUntil(lambda: len(finished) == 1, timeout=10000)
    assert len(calls) == 2 and finished[0] is calls[1], "a fresh write of the new state followed"
    assert finished[0].mask[90, 50] == 255, "with the stroke painted meanwhile"
    assert saver.wait(10)
