"""Tools > Train…, driven like a person, against a stand-in trainer (fake_trainer.py) that speaks
the events/control contract of ``gptstudio train`` in a fraction of a second per run."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gui_helpers import make_image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QPushButton

from gptstudio.app import train_run
from gptstudio.app.train_settings import CONTROL_FILE, training_root

FAKE = Path(__file__).with_name("fake_trainer.py")


@pytest.fixture
def fake_trainer(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every run of this test starts fake_trainer.py; at the end each one must have exited."""
    spawned: list[object] = []
    real_spawn = train_run._spawn

    def spawn(command: list[str], cwd: Path, log: Path) -> object:
        proc = real_spawn(command, cwd, log)
        spawned.append(proc)
        return proc

    monkeypatch.setattr(train_run, "trainer_command", lambda args: [sys.executable, str(FAKE), *args])
    monkeypatch.setattr(train_run, "_spawn", spawn)
    yield spawned
    left = [p for p in spawned if p.poll() is None]  # type: ignore[attr-defined]
    for p in left:
        p.kill()  # type: ignore[attr-defined]
        p.wait(10)  # type: ignore[attr-defined]
    assert not left, "a trainer process was left running"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "my photos"
    for i in range(3):
        make_image(folder / f"p{i}.png", 96, 80)
    make_image(folder / "more" / "p3.png", 96, 80)
    return folder


def open_train(qtbot, window):  # type: ignore[no-untyped-def]
    window.act_train.trigger()  # Tools > Train…
    dialog = window.train_dialog
    qtbot.waitExposed(dialog)
    return dialog


def fill(qtbot, dialog, folder: Path, name: str = "cam") -> None:  # type: ignore[no-untyped-def]
    dialog.form.folder_edit.clear()
    qtbot.keyClicks(dialog.form.folder_edit, str(folder))
    dialog.form.name_edit.clear()
    qtbot.keyClicks(dialog.form.name_edit, name)
    qtbot.waitUntil(lambda: not dialog.form.checking(), timeout=10000)  # the note under the folder


def click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def start(qtbot, window, photos: Path, name: str = "cam"):  # type: ignore[no-untyped-def]
    dialog = open_train(qtbot, window)
    fill(qtbot, dialog, photos, name)
    click(qtbot, dialog.start_button)
    qtbot.waitUntil(lambda: len(dialog.run.state.losses) >= 3, timeout=30000)
    return dialog


def cancel_and_wait(qtbot, dialog) -> None:  # type: ignore[no-untyped-def]
    click(qtbot, dialog.cancel_button)
    qtbot.waitUntil(
        lambda: not dialog.run.running() and dialog.run.state.status == "cancelled", timeout=20000
    )


def test_start_draws_the_curve_previews_and_time_left(qtbot, window, fake_trainer, photos: Path) -> None:
    dialog = start(qtbot, window, photos)
    assert dialog.form.folder_note.text().startswith("4 images in 2 folders")
    qtbot.waitUntil(lambda: dialog.curve.point_count() >= 5, timeout=20000)
    assert dialog.previews.shown_step() is not None
    # the data summary and the measured estimate, before the steps
    assert "4 images" in dialog.data_label.text() and "Skipped 1" in dialog.data_label.text()
    assert "s per step" in dialog.estimate_label.text()
    assert dialog.warning_label.isHidden()
    status = dialog.status.text()
    assert status.startswith("Step ") and "steps/s" in status and "left" in status
    assert dialog.progress.format().startswith("step ")
    # previews come as they are made, including step 0 (one drag of the slider away)
    qtbot.waitUntil(lambda: len(dialog.run.state.previews) >= 2, timeout=20000)
    dialog.previews.slider.setValue(0)
    assert dialog.previews.shown_step() == 0
    assert "before training" in dialog.previews.title.text()
    captions = [c.property("caption") for c in dialog.previews.cells]
    assert captions == ["before\n18.50 dB", "after\n20.00 dB"]
    assert dialog.form.isEnabled() is False  # the running run's settings cannot change under it
    cancel_and_wait(qtbot, dialog)


def test_pause_writes_pause_and_resume_carries_on(qtbot, window, fake_trainer, photos: Path) -> None:
    dialog = start(qtbot, window, photos)
    control = training_root() / "cam" / CONTROL_FILE
    click(qtbot, dialog.pause_button)
    assert control.read_text() == "pause"
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Paused"), timeout=20000)
    assert not dialog.pause_button.isEnabled() and dialog.resume_button.isEnabled()
    paused_at = dialog.run.state.step
    click(qtbot, dialog.resume_button)
    assert control.read_text() == "run"
    qtbot.waitUntil(lambda: dialog.run.state.step > paused_at + 2, timeout=20000)
    assert dialog.status.text().startswith("Step ")
    cancel_and_wait(qtbot, dialog)


def test_cancel_then_resume_restarts_with_resume(qtbot, window, fake_trainer, photos: Path) -> None:
    dialog = start(qtbot, window, photos)
    cancel_and_wait(qtbot, dialog)
    assert dialog.status.text().startswith("Cancelled")
    stopped_at, points = dialog.run.state.step, dialog.curve.point_count()
    assert not dialog.pause_button.isEnabled() and not dialog.cancel_button.isEnabled()
    click(qtbot, dialog.resume_button)
    assert "--resume" in dialog.run.command
    qtbot.waitUntil(lambda: dialog.run.state.step > stopped_at + 2, timeout=20000)
    argv = json.loads((training_root() / "cam" / "argv.json").read_text())
    assert "--resume" in argv  # the trainer itself was told
    assert dialog.curve.point_count() > points  # the curve goes on from where it was
    assert len(fake_trainer) == 2
    cancel_and_wait(qtbot, dialog)


def test_closed_dialog_keeps_the_run_and_reopening_shows_it(
    qtbot, window, fake_trainer, photos: Path
) -> None:
    dialog = start(qtbot, window, photos)
    click(qtbot, dialog.close_button)
    assert not dialog.isVisible()
    run = window.training
    assert run.running()
    seen = dialog.curve.point_count()
    qtbot.waitUntil(lambda: len(run.state.losses) > seen + 5, timeout=20000)  # it trains on, unseen
    again = open_train(qtbot, window)
    assert again.run is run
    assert again.curve.point_count() == len(run.state.losses) > seen
    assert again.status.text().startswith("Step ")
    cancel_and_wait(qtbot, again)


def test_settings_save_and_load_round_trip(qtbot, window, photos: Path, tmp_path: Path, monkeypatch) -> None:
    dialog = open_train(qtbot, window)
    fill(qtbot, dialog, photos, "archive-fix")
    dialog.form.task_combo.setCurrentIndex(dialog.form.task_combo.findData("restore"))
    assert dialog.form.damage_combo.isVisible() and not dialog.form.trigger_edit.isVisible()
    dialog.form.damage_combo.setCurrentIndex(dialog.form.damage_combo.findData("jpeg"))
    dialog.form.preset_combo.setCurrentIndex(dialog.form.preset_combo.findData("best"))
    dialog.form.steps_spin.setValue(300)
    saved = tmp_path / "mine.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), ""))
    click(qtbot, dialog.save_button)
    # change everything, then load it back
    dialog.form.task_combo.setCurrentIndex(dialog.form.task_combo.findData("generate"))
    assert dialog.form.trigger_edit.isVisible() and not dialog.form.damage_combo.isVisible()
    assert "photo.txt" in dialog.form.captions_note.text()
    fill(qtbot, dialog, tmp_path, "other")
    dialog.form.steps_spin.setValue(5)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(saved), ""))
    click(qtbot, dialog.load_button)
    s = dialog.form.settings()
    assert (s.task, s.data, s.preset, s.steps, s.name) == ("restore", str(photos), "best", 300, "archive-fix")
    assert s.damage == "jpeg" and s.damaged is None and s.trigger is None
    assert dialog.form.damage_combo.isVisible()
    # the same file is what `gptstudio train --settings FILE` reads
    from gptstudio.training.runs import load_settings

    assert load_settings(saved) == s


def test_a_damaged_settings_file_says_so(qtbot, window, tmp_path: Path, monkeypatch) -> None:
    dialog = open_train(qtbot, window)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    click(qtbot, dialog.load_button)
    qtbot.waitUntil(lambda: _visible_box("errorDialog") is not None, timeout=5000)
    box = _visible_box("errorDialog")
    assert "bad.json cannot be read" in box.informativeText()
    box.close()


def test_the_last_runs_settings_are_offered(qtbot, window, fake_trainer, photos: Path) -> None:
    dialog = start(qtbot, window, photos, "last-one")
    cancel_and_wait(qtbot, dialog)
    from gptstudio.app.train_dialog import TrainDialog
    from gptstudio.app.train_run import TrainingRun

    fresh = TrainDialog(TrainingRun())  # as the next start of the editor makes it
    qtbot.addWidget(fresh)
    assert fresh.form.name_edit.text() == "last-one"
    assert fresh.form.folder_edit.text() == str(photos)
    fresh.form.scanner.wait()


def test_a_bad_folder_is_said_at_once_and_nothing_starts(qtbot, window, fake_trainer, tmp_path: Path) -> None:
    dialog = open_train(qtbot, window)
    fill(qtbot, dialog, tmp_path / "nowhere")
    qtbot.waitUntil(lambda: "does not exist" in dialog.form.folder_note.text(), timeout=10000)
    click(qtbot, dialog.start_button)
    assert "does not exist" in dialog.status.text()
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no pictures here")
    fill(qtbot, dialog, empty)
    qtbot.waitUntil(lambda: "no images" in dialog.form.folder_note.text(), timeout=10000)
    assert not fake_trainer and not dialog.run.running()


def test_a_name_taken_by_an_installed_model_is_refused(qtbot, window, fake_trainer, photos, tmp_path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from spandrel_tiny import save_as_authors_do, tiny_drunet

    from gptstudio.models.importer import import_file
    from gptstudio.models.store import Store

    (tmp_path / "w").mkdir()
    import_file(save_as_authors_do(tiny_drunet(), tmp_path / "w", "d")[1], Store(), model_id="drunet")
    dialog = open_train(qtbot, window)
    fill(qtbot, dialog, photos, "DRUNet")
    click(qtbot, dialog.start_button)
    assert "'drunet' is already installed: choose another name" in dialog.status.text()
    assert not fake_trainer


def test_a_task_with_no_model_to_start_from_says_so(qtbot, window, fake_trainer, photos) -> None:
    dialog = open_train(qtbot, window)
    fill(qtbot, dialog, photos, "my-dog")
    dialog.form.task_combo.setCurrentIndex(dialog.form.task_combo.findData("generate"))
    assert dialog.form.base_combo.currentText().startswith("No model installed")
    click(qtbot, dialog.start_button)
    assert dialog.status.text() == "No model to start from is installed for Generate: Models… installs one."
    assert not fake_trainer


def test_the_folder_is_listed_off_the_gui_thread(qtbot, window, photos, monkeypatch) -> None:
    from gui_helpers import Gate, wait_while_held

    from gptstudio.app import train_form

    gate = Gate(train_form.count_images)
    monkeypatch.setattr(train_form, "count_images", gate)
    dialog = open_train(qtbot, window)
    qtbot.keyClicks(dialog.form.folder_edit, str(photos))
    wait_while_held(qtbot, gate)
    qtbot.waitUntil(lambda: dialog.form.folder_ok, timeout=10000)
    assert dialog.form.folder_note.text().startswith("4 images")


def test_a_trainer_crash_is_shown_and_the_editor_carries_on(
    qtbot, window, fake_trainer, photos: Path, image_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("FAKE_TRAINER_CRASH_AT", "6")
    dialog = open_train(qtbot, window)
    fill(qtbot, dialog, photos)
    click(qtbot, dialog.start_button)
    qtbot.waitUntil(lambda: dialog.run.state.status == "failed", timeout=30000)
    assert dialog.status.text().startswith("Training failed: The trainer stopped unexpectedly (exit code")
    box = _visible_box("errorDialog")
    assert box is not None and "crashed on purpose" in box.detailedText()
    box.close()
    assert not dialog.resume_button.isEnabled()  # no checkpoint was written before the crash
    assert dialog.start_button.isEnabled() and dialog.form.isEnabled()
    assert window.open_path(image_path)  # the editor itself is untouched
    assert window.document is not None


def test_an_estimate_that_does_not_fit_warns(qtbot, window, fake_trainer, photos: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_FITS", "0")
    dialog = start(qtbot, window, photos)
    assert dialog.warning_label.isVisible()
    assert "Needs 90.0 GB of memory" in dialog.warning_label.text()
    assert "speed not measured" in dialog.estimate_label.text()
    cancel_and_wait(qtbot, dialog)


def test_the_new_model_appears_in_the_task_panel(
    qtbot, window, fake_trainer, photos: Path, tmp_path, monkeypatch
) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from spandrel_tiny import save_as_authors_do, tiny_drunet

    (tmp_path / "weights").mkdir()
    _pth, weights = save_as_authors_do(tiny_drunet(), tmp_path / "weights", "drunet")
    monkeypatch.setenv("FAKE_TRAINER_MODEL", str(weights))
    dialog = open_train(qtbot, window)
    fill(qtbot, dialog, photos, "my-denoiser")
    dialog.form.steps_spin.selectAll()
    qtbot.keyClicks(dialog.form.steps_spin, "12")
    assert dialog.form.steps_spin.value() == 12
    click(qtbot, dialog.start_button)
    qtbot.waitUntil(lambda: dialog.run.state.status == "done" and not dialog.run.running(), timeout=90000)
    assert "Validation PSNR 30.50 → 31.25 dB." in dialog.status.text()
    assert "“my-denoiser” is in the model list for Denoise" in dialog.status.text()
    window.panel.set_task("denoise")
    models = [window.panel.model_combo.itemData(i) for i in range(window.panel.model_combo.count())]
    assert "my-denoiser" in models
    assert "my-denoiser" in window.statusBar().currentMessage()


def close_window_answering(window, choice: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Close the window like a person and press ``choice`` in the "training running" question."""
    answered: list[str] = []

    def answer() -> None:
        box = _visible_box("stopTraining")
        if box is None:
            QTimer.singleShot(20, answer)
            return
        answered.append(box.text())
        next(b for b in box.findChildren(QPushButton) if b.text() == choice).click()

    QTimer.singleShot(0, answer)
    window.close()
    return answered


def test_closing_the_editor_can_stop_the_training(qtbot, window, fake_trainer, photos) -> None:
    start(qtbot, window, photos)
    answered = close_window_answering(window, "Stop training")
    assert answered and "training run is going" in answered[0]
    assert (training_root() / "cam" / CONTROL_FILE).read_text() == "cancel"
    fake_trainer[-1].wait(20)
    events = (training_root() / "cam" / "events.jsonl").read_text()
    assert '"event": "cancelled"' in events  # it checkpointed and stopped: Resume can continue it


def test_a_run_kept_going_is_shown_again_next_time(qtbot, window, fake_trainer, photos) -> None:
    from gptstudio.app.main_window import MainWindow

    start(qtbot, window, photos)
    proc = fake_trainer[-1]
    assert close_window_answering(window, "Keep running")
    assert window.training.detached and proc.poll() is None  # training on after the editor closed
    assert (training_root() / "cam" / CONTROL_FILE).read_text() == "run"
    later = MainWindow()  # the next start of the editor
    later.show()
    try:
        dialog = open_train(qtbot, later)
        assert dialog.run.running() and dialog.run.state.status == "running"
        assert dialog.curve.point_count() >= 3  # the curve so far, read back from its event file
        before = dialog.run.state.step
        qtbot.waitUntil(lambda: dialog.run.state.step > before + 2, timeout=20000)
        cancel_and_wait(qtbot, dialog)  # its controls work: the cancel reached the old trainer
        assert proc.wait(20) == 0
    finally:
        later.shutdown()
        later.close()
        later.deleteLater()


def _visible_box(name: str) -> QMessageBox | None:
    for w in QApplication.topLevelWidgets():
        if isinstance(w, QMessageBox) and w.objectName() == name and w.isVisible():
            return w
    return None
