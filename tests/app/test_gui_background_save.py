"""Save and Export encode on a background thread: the window keeps answering, a busy indicator
shows in the status bar meanwhile, and the caller still learns whether the file was written."""

from __future__ import annotations

import time

from gui_helpers import drag
from PySide6.QtCore import QTimer

from gptstudio.app import session_files
from gptstudio.app.stall_meter import StallMeter
from gptstudio.core.imageio import load_image


def test_save_runs_in_the_background_with_a_busy_indicator(  # type: ignore[no-untyped-def]
    qtbot, window, image_path, tmp_path, monkeypatch
) -> None:
    real = session_files.save_image

    def slow_save(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.6)  # a big photo's encode
        return real(*args, **kwargs)

    monkeypatch.setattr(session_files, "save_image", slow_save)
    window.open_path(image_path)
    window.tools.set_hardness(1.0)
    drag(window, [(30, 30), (80, 30)])
    seen: list[bool] = []
    QTimer.singleShot(300, lambda: seen.append(window.busy_bar.isVisible()))
    meter = StallMeter()
    meter.start()
    try:
        assert window.save_document_as(tmp_path / "out.png")
    finally:
        meter.stop()
    assert seen == [True], "the status bar showed the save in progress"
    assert meter.worst < 100, f"the event loop stalled for {meter.worst} ms"
    qtbot.waitUntil(lambda: not window.busy_bar.isVisible(), timeout=5000)
    assert not window.is_dirty()
    assert load_image(tmp_path / "out.png").size == (320, 240)


def test_export_failure_is_reported(qtbot, window, image_path, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise OSError("No space left on device")

    monkeypatch.setattr(session_files, "save_image", broken)
    window.open_path(image_path)
    assert not window.export_to(tmp_path / "copy.jpg")
    boxes = [b for b in window.findChildren(QMessageBox, "errorDialog") if b.isVisible()]
    assert boxes and "No space left on device" in boxes[0].informativeText()
    boxes[0].accept()
