"""Save and Export encode on a background thread: the window keeps answering, a busy indicator
shows in the status bar meanwhile, and the caller still learns whether the file was written."""

from __future__ import annotations

from gui_helpers import Gate, drag, wait_while_held
from PySide6.QtCore import QTimer

from gptstudio.app import session_files
from gptstudio.core.imageio import load_image


def test_save_runs_in_the_background_with_a_busy_indicator(  # type: ignore[no-untyped-def]
    qtbot, window, image_path, tmp_path, monkeypatch
) -> None:
    gate = Gate(session_files.save_image)  # holds the encode, as a big photo's would take time
    monkeypatch.setattr(session_files, "save_image", gate)
    window.open_path(image_path)
    window.tools.set_hardness(1.0)
    drag(window, [(30, 30), (80, 30)])
    seen: list[bool] = []

    def while_saving() -> None:
        try:
            qtbot.waitUntil(gate.entered.is_set, timeout=20000)
            seen.append(window.busy_bar.isVisible())
            wait_while_held(qtbot, gate)  # the event loop runs while the encode is held
        finally:
            gate.released.set()

    QTimer.singleShot(0, while_saving)
    assert window.save_document_as(tmp_path / "out.png")
    assert seen == [True], "the status bar showed the save in progress"
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
