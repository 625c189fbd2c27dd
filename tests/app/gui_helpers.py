"""Helpers the GUI tests share: sample images and mouse drags in image coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from gptstudio.core.imageio import from_array, save_image


def make_image(path: Path, width: int = 320, height: int = 240) -> Path:
    """A smooth colour gradient with a dark square: easy to tell apart from any result."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.dstack([x / width, y / height, np.full_like(x, 0.4)])
    rgb[height // 3 : height // 2, width // 3 : width // 2] = 0.1
    save_image(from_array(rgb), path, overwrite=True)
    return path


def scene_to_view(window, x: float, y: float) -> QPoint:  # type: ignore[no-untyped-def]
    return window.canvas.mapFromScene(QPointF(x, y))


def drag(window, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> None:  # type: ignore[no-untyped-def]
    """Press at the first image point, move through the others, release at the last."""
    viewport = window.canvas.viewport()
    view_pts = [scene_to_view(window, x, y) for x, y in points]
    QTest.mousePress(viewport, button, Qt.KeyboardModifier.NoModifier, view_pts[0])
    for p in view_pts[1:]:
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, button, Qt.KeyboardModifier.NoModifier, view_pts[-1])


class Gate:
    """Holds a wrapped function until the test lets it go, and notes the thread it ran on.

    It proves heavy work runs off the GUI thread without timing anything, so a slow or busy
    machine cannot fail it: while the work is held the event loop must still run a timer. On the
    GUI thread the gate does not hold (that would hang the test); it only records the thread, and
    :func:`wait_while_held` then fails with a clear message.
    """

    def __init__(self, fn):  # type: ignore[no-untyped-def]
        import threading

        self.fn = fn
        self.threads: list[object] = []
        self.entered = threading.Event()
        self.released = threading.Event()

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        import threading

        self.threads.append(threading.current_thread())
        self.entered.set()
        if threading.current_thread() is not threading.main_thread():
            self.released.wait(30)
        return self.fn(*args, **kwargs)


def wait_while_held(qtbot, gate: Gate, ticks: int = 10) -> None:  # type: ignore[no-untyped-def]
    """Wait until the gated work starts, see the event loop run ``ticks`` timer ticks while it is
    held, then let it go."""
    import threading

    from PySide6.QtCore import QTimer

    try:
        qtbot.waitUntil(gate.entered.is_set, timeout=20000)
        assert threading.main_thread() not in gate.threads, "the heavy work ran on the GUI thread"
        count = [0]
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(lambda: count.__setitem__(0, count[0] + 1))
        timer.start()
        try:
            qtbot.waitUntil(lambda: count[0] >= ticks, timeout=10000)
        finally:
            timer.stop()
        assert not gate.released.is_set()
    finally:
        gate.released.set()
