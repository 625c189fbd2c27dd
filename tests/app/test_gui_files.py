"""Never lose work: parameters in saved PNGs and "Reuse parameters", originals never overwritten
unasked, a prompt for unsaved changes on close, recent files, drag and drop, autosave and recovery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import Gate, drag, make_image, wait_while_held
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from gptstudio.app import settings as app_settings
from gptstudio.core.imageio import from_array, load_image, read_params, save_image

HERE = Path(__file__).resolve().parent


def run_inpaint(qtbot, window, seed: int = 777) -> None:  # type: ignore[no-untyped-def]
    window.panel.set_task("inpaint")
    window.panel.set_model("test-green-fill")
    window.panel.prompt.setPlainText("a green field")
    window.panel.seed.setValue(seed)
    window.panel.seed_lock.setChecked(True)
    window.tools.set_hardness(1.0)
    drag(window, [(60, 60), (200, 60)])
    n = window.undo_stack.count()
    window.act_run.trigger()
    qtbot.waitUntil(lambda: window.undo_stack.count() == n + 1, timeout=15000)


def answer_next_box(button: QMessageBox.StandardButton) -> list[str]:
    """Click ``button`` in the next modal message box, as a person would; returns its text."""
    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, click)

    QTimer.singleShot(20, click)
    return seen


def test_save_reopen_and_reuse_parameters(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    run_inpaint(qtbot, window, seed=4242)
    out = tmp_path / "result.png"
    assert window.save_document_as(out)
    assert not window.is_dirty() and not window.isWindowModified()
    params = read_params(out)
    assert params["task"] == "inpaint" and params["seed"] == 4242 and params["prompt"] == "a green field"
    assert len(params["history"]) == 1
    # change the panel, then reopen the result and reuse what made it
    window.panel.set_task("denoise")
    window.panel.seed.setValue(1)
    assert window.open_path(out)
    assert window.panel.params_banner.isVisible()
    assert "seed 4242" in window.panel.params_label.text()
    qtbot.mouseClick(window.panel.reuse_button, Qt.MouseButton.LeftButton)
    assert window.panel.current_task() == "inpaint"
    assert window.panel.current_model().id == "test-green-fill"
    assert window.panel.seed.value() == 4242 and window.panel.seed_lock.isChecked()
    assert window.panel.prompt.toPlainText() == "a green field"
    assert str(out.resolve()) == app_settings.recent_files()[0]


def test_save_never_overwrites_the_opened_original(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    jpeg = tmp_path / "holiday.jpg"
    save_image(load_image(make_image(tmp_path / "src.png")), jpeg)
    before = jpeg.read_bytes()
    window.open_path(jpeg)
    run_inpaint(qtbot, window)
    asked: list[str] = []

    def choose(parent, caption, start, filters):  # type: ignore[no-untyped-def]
        asked.append(start)
        return str(tmp_path / "holiday-edited.png"), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    window.act_save.trigger()
    assert asked and asked[0].endswith("holiday-edited.ora"), "Save asks where, suggesting a new name"
    assert jpeg.read_bytes() == before, "the original JPEG is untouched"
    assert (tmp_path / "holiday-edited.png").exists()
    # the next Save writes to the file the user chose, without asking again
    run_inpaint(qtbot, window, seed=5)
    window.act_save.trigger()
    assert len(asked) == 1
    assert read_params(tmp_path / "holiday-edited.png")["seed"] == 5


def test_export_writes_a_copy(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    run_inpaint(qtbot, window)
    assert window.export_to(tmp_path / "copy.webp")
    assert load_image(tmp_path / "copy.webp").size == (320, 240)
    assert window.is_dirty(), "exporting a copy does not save the document"


def test_close_with_unsaved_changes_asks(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    drag(window, [(50, 50), (90, 90)])
    seen = answer_next_box(QMessageBox.StandardButton.Cancel)
    window.close()
    assert seen and "Save the changes" in seen[0]
    assert window.isVisible(), "Cancel keeps the window and the work"
    answer_next_box(QMessageBox.StandardButton.Discard)
    window.close()
    assert not window.isVisible()
    assert not window.controller.thread.isRunning(), "closing stops the worker thread"


def test_bad_file_is_explained_and_work_kept(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert not window.open_path(bad)
    boxes = [b for b in window.findChildren(QMessageBox, "errorDialog") if b.isVisible()]
    assert boxes and boxes[0].windowTitle() == "Cannot open image"
    boxes[0].accept()
    assert window.document.source_path == image_path


def _drag_and_drop(window, path: Path) -> bool:  # type: ignore[no-untyped-def]
    """Drag a file over the window and drop it; returns whether the window accepted the drag."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (
        QPoint(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(*args)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(window, QDropEvent(*args))
    return True


def test_drop_an_image_file_opens_it(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert not _drag_and_drop(window, text), "a text file is refused at the door"
    assert _drag_and_drop(window, image_path)
    qtbot.waitUntil(lambda: window.document is not None, timeout=5000)
    assert window.document.source_path == image_path


def test_window_state_and_recent_files_remembered(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    from gptstudio.app.main_window import MainWindow

    window.open_path(image_path)
    window.resize(700, 500)
    window.tools.set_size(77)
    window.panel.set_task("inpaint")
    window.panel.set_model("test-green-fill")
    window.panel.prompt.setPlainText("a quiet lake")
    window.panel.seed.setValue(99)
    window.panel.seed_lock.setChecked(True)
    window.close()
    again = MainWindow()
    try:
        assert again.size().width() == 700
        assert again.tools.size == 77
        assert again.panel.current_task() == "inpaint" and again.panel.current_model().id == "test-green-fill"
        assert again.panel.prompt.toPlainText() == "a quiet lake"
        assert again.panel.seed.value() == 99 and again.panel.seed_lock.isChecked()
        again._fill_recent_menu()
        names = [a.text() for a in again.recent_menu.actions()]
        assert image_path.name in names
    finally:
        again.shutdown()
        again.deleteLater()


def test_mask_given_at_launch_is_loaded(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mask = np.zeros((240, 320), np.uint8)
    mask[10:50, 10:50] = 255
    save_image(from_array(mask), tmp_path / "m.png")
    assert window.open_path(image_path, tmp_path / "m.png")
    assert window.canvas.mask_item.alpha()[30, 30] == 255
    assert not window.is_dirty(), "a mask given with the image is the starting point, not an edit"


@pytest.mark.skipif(sys.platform == "win32", reason="the crash is simulated with SIGKILL")
def test_autosave_recovers_after_a_crash(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A child process opens, paints, runs a task, autosaves, and is killed; we recover its work."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    child = subprocess.run(
        [sys.executable, str(HERE / "crash_child.py"), str(image_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr[-2000:]
    assert "AUTOSAVED" in child.stdout

    def click_recover() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.objectName() == "recoverDialog":
            next(b for b in box.buttons() if b.text() == "Recover").click()
        else:
            QTimer.singleShot(20, click_recover)

    QTimer.singleShot(20, click_recover)
    assert window.offer_recovery()
    assert window.document is not None and window.is_dirty()
    mask = window.canvas.mask_item.alpha()
    assert not mask[120, 100:200].any(), "the mask as autosaved: the landed inpaint cleared it"
    assert window.document.history and window.document.history[-1]["model"] == "test-green-fill"
    assert tuple(window.document.image.rgb[120, 150]) == (0.0, 1.0, 0.0), "the result came back"
    assert window.offer_recovery() is False, "a recovered session is not offered twice"


def test_autosave_timer_writes_the_working_document(qtbot, engines, image_path) -> None:  # type: ignore[no-untyped-def]
    from gptstudio.app.document import read_snapshot
    from gptstudio.app.main_window import MainWindow

    win = MainWindow(autosave_interval_ms=50)  # the app uses one minute
    try:
        win.show()
        win.open_path(image_path)
        folder = win.autosaver.folder
        qtbot.wait(200)
        assert not (folder / "document.ora").exists(), "nothing unsaved, nothing to autosave"
        win.tools.set_hardness(1.0)
        drag(win, [(30, 30), (80, 30)])
        qtbot.waitUntil(
            lambda: (folder / "document.ora").exists() and not win.autosaver.busy(), timeout=10000
        )
        snap = read_snapshot(folder)
        assert snap.mask is not None and snap.mask[30, 50] == 255
        assert snap.source_path == str(image_path)
        win.undo_stack.setClean()  # as after a save: the autosave is dropped
        win.autosaver.mark_changed()
        qtbot.waitUntil(lambda: not (folder / "document.ora").exists(), timeout=5000)
    finally:
        win.shutdown()
        win.deleteLater()
    assert not folder.exists(), "a clean exit leaves no autosave behind"


def test_autosave_failure_is_reported(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gptstudio.app import autosave
    from gptstudio.core.errors import ImageWriteError

    def full_disk(folder, snap, **_):  # type: ignore[no-untyped-def]
        raise ImageWriteError("No space left on device")

    monkeypatch.setattr(autosave, "write_snapshot", full_disk)
    window.open_path(image_path)
    drag(window, [(30, 30), (80, 30)])
    assert window.autosaver.save_now()
    assert window.autosaver.wait(10)
    window.autosaver.save_now()
    assert "Autosave failed: No space left on device" in window.statusBar().currentMessage()


def test_missing_recent_file_is_explained_and_dropped(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gone = make_image(tmp_path / "gone.png")
    assert window.open_path(gone)
    drag(window, [(30, 30), (80, 30)])
    window.undo_stack.setClean()  # as if saved, so opening another file asks nothing
    gone.unlink()
    window._fill_recent_menu()
    entry = next(a for a in window.recent_menu.actions() if a.text() == "gone.png")
    entry.trigger()  # File > Open Recent > gone.png (opens in the background)
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QMessageBox, "errorDialog")))
    box = next(b for b in window.findChildren(QMessageBox, "errorDialog") if b.isVisible())
    assert "does not exist" in box.informativeText()
    box.accept()
    assert str(gone.resolve()) not in app_settings.recent_files()
    assert window.canvas.isEnabled() and window.canvas.mask_item.alpha()[30, 50] == 255, "work kept"


def test_file_open_menu_uses_the_dialog_choice(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(image_path), "")))
    window.act_open.trigger()
    qtbot.waitUntil(lambda: window.document is not None, timeout=10000)
    assert window.document.source_path == image_path
    assert window.canvas.isEnabled()
    assert window.windowTitle().startswith("photo.png")
    assert window.act_save.isEnabled() and window.act_export.isEnabled()


def test_opening_a_big_photo_decodes_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Opening from the menu decodes on a thread: the event loop keeps running while it is held.

    How long the loop may stall is a speed goal, measured by ``benchmarks/bench_gui.py``."""
    from gptstudio.app import loader

    big = tmp_path / "big.jpg"
    rng = np.random.default_rng(0)
    save_image(from_array(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)), big)
    gate = Gate(loader.load_document)
    monkeypatch.setattr(loader, "load_document", gate)
    assert window.open_path(big, background=True)
    assert not window.canvas.isEnabled(), "no painting on the old image while the new one loads"
    wait_while_held(qtbot, gate)
    qtbot.waitUntil(lambda: window.document is not None, timeout=60000)
    assert window.canvas.image_size() == (400, 300) and window.canvas.isEnabled()
