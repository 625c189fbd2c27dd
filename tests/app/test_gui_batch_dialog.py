"""The Batch dialog driven like a person: choose folders, a task and a model, Start, watch the rows
turn done with thumbnails; a corrupt file fails with its reason; Pause holds between files; Cancel
stops after the current file; Start again resumes and the manifest shows nothing redone; closing
mid-batch stops and joins the thread."""

from __future__ import annotations

import json
from pathlib import Path

import fake_engines
import numpy as np
import pytest
from gui_helpers import make_image
from PIL import Image
from PySide6.QtWidgets import QFileDialog, QToolButton

from gptstudio.app.batch_dialog import BatchDialog
from gptstudio.app.batch_files import COL_RESULT, COL_STATUS


def _records(out: Path, kind: str = "file") -> list[dict]:
    lines = (out / "gptstudio-batch.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("kind") == kind]


def _statuses(dialog: BatchDialog) -> dict[str, str]:
    return dialog.files.statuses()


def _folder(root: Path, count: int, corrupt: bool = False) -> Path:
    (root / "sub").mkdir(parents=True)
    for i in range(count):
        make_image(root / ("sub" if i % 2 else "") / f"img{i}.png", 32, 24)
    if corrupt:
        (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
    return root


@pytest.fixture
def dialog(qtbot):  # type: ignore[no-untyped-def]
    d = BatchDialog()
    qtbot.addWidget(d)
    d.show()
    yield d
    assert d.shutdown(grace_s=5)


def _choose(qtbot, dialog: BatchDialog, monkeypatch, src: Path, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Pick both folders through the "…" buttons, as a person would."""
    for edit, path in (("batchInput", src), ("batchOutput", out)):
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, p=path, **k: str(p))
        dialog.findChild(QToolButton, f"{edit}Pick").click()


def _wait_planned(qtbot, dialog: BatchDialog, files: int) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(
        lambda: dialog.plan_ready() and len(dialog.files.rows) == files and dialog.start_button.isEnabled(),
        timeout=5000,
    )


def _wait_stopped(qtbot, dialog: BatchDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not dialog.running(), timeout=15000)


def test_upscale_a_folder_rows_turn_done_with_thumbnails_and_a_corrupt_file_fails(
    qtbot, dialog, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    src, out = _folder(tmp_path / "in", 3, corrupt=True), tmp_path / "out"
    _choose(qtbot, dialog, monkeypatch, src, out)
    dialog.form.set_task("upscale")
    assert dialog.form.set_model("classical-lanczos")
    dialog.form.scale.setValue(2.0)
    assert dialog.form.shown_rows() == {"scale"}  # no strength/seed rows for Lanczos
    _wait_planned(qtbot, dialog, 4)
    dialog.start_button.click()
    assert dialog.running() and not dialog.form.isEnabled()
    _wait_stopped(qtbot, dialog)

    statuses = _statuses(dialog)
    good = {"img0.png": "done", "img2.png": "done", "sub/img1.png": "done"}
    assert statuses == {"broken.png": "failed", **good}
    assert dialog.files.rows["broken.png"].toolTip(COL_STATUS)  # the reason, as a tooltip
    for rel in ("img0.png", "img2.png", "sub/img1.png"):
        assert not dialog.files.rows[rel].icon(COL_RESULT).isNull()  # a result thumbnail
        with Image.open(out / rel) as im:
            assert im.size == (64, 48)
    assert dialog.progress.value() == 1000
    assert dialog.status.text().startswith("Done 3, skipped 0, failed 1")

    qtbot.waitUntil(lambda: "3 already done, will be skipped" in dialog.plan_label.text(), timeout=5000)
    assert _statuses(dialog) == statuses  # planned again, the run's failure and thumbnails stay listed
    assert not dialog.files.rows["img0.png"].icon(COL_RESULT).isNull()

    again = BatchDialog()  # the last settings are remembered
    qtbot.addWidget(again)
    assert (again.form.input_edit.text(), again.form.task()) == (str(src), "upscale")
    assert again.form.model_combo.currentData() == "classical-lanczos"
    qtbot.waitUntil(lambda: "3 already done, will be skipped" in again.plan_label.text(), timeout=5000)
    again.shutdown()


def test_pause_holds_cancel_stops_after_the_current_file_and_start_resumes(
    qtbot, engines, dialog, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fake_engines.SlowInvert, "steps", 4)
    monkeypatch.setattr(fake_engines.SlowInvert, "step_seconds", 0.04)  # 0.16 s a file
    src, out = _folder(tmp_path / "in", 6), tmp_path / "out"
    dialog.form.input_edit.setText(str(src))
    dialog.form.output_edit.setText(str(out))
    dialog.form.set_task("denoise")
    assert dialog.form.set_model("test-slow-invert")
    assert "strength" in dialog.form.shown_rows()
    _wait_planned(qtbot, dialog, 6)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "done" in _statuses(dialog).values(), timeout=10000)

    dialog.pause_button.click()  # Pause: the file on the model finishes, nothing else starts
    qtbot.waitUntil(lambda: "running" not in _statuses(dialog).values(), timeout=5000)
    held = _statuses(dialog)
    qtbot.wait(400)
    assert _statuses(dialog) == held and "waiting" in held.values()
    assert dialog.pause_button.text() == "Resume"

    dialog.cancel_button.click()  # Cancel while paused: stops without starting another file
    _wait_stopped(qtbot, dialog)
    first = _statuses(dialog)
    done_first = {rel for rel, s in first.items() if s == "done"}
    assert 1 <= len(done_first) < 6 and "not started" in first.values()
    assert _records(out, "end")[-1]["status"] == "cancelled"
    assert "stopped early" in dialog.status.text()

    n = len(done_first)
    qtbot.waitUntil(lambda: f"{n} already done, will be skipped" in dialog.plan_label.text(), timeout=5000)
    qtbot.waitUntil(dialog.plan_ready, timeout=5000)
    dialog.start_button.click()  # resume
    assert dialog.running()
    _wait_stopped(qtbot, dialog)
    assert set(_statuses(dialog).values()) == {"done", "skipped"}
    recs = _records(out)
    done = [r["path"] for r in recs if r["status"] == "done"]
    assert sorted(done) == sorted(_statuses(dialog))  # every file done exactly once: nothing redone
    assert {r["path"] for r in recs if r["status"] == "skipped"} == done_first
    assert np.asarray(Image.open(out / "img0.png")).mean() > 0


def test_closing_the_window_mid_batch_asks_stops_and_joins(qtbot, window, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(fake_engines.SlowInvert, "steps", 10)
    monkeypatch.setattr(fake_engines.SlowInvert, "step_seconds", 0.05)
    src, out = _folder(tmp_path / "in", 4), tmp_path / "out"
    window.act_batch.trigger()  # Tools > Batch…
    dialog = window.batch_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.form.input_edit.setText(str(src))
    dialog.form.output_edit.setText(str(out))
    dialog.form.set_task("denoise")
    dialog.form.set_model("test-slow-invert")
    _wait_planned(qtbot, dialog, 4)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "running" in _statuses(dialog).values(), timeout=10000)

    current = next(rel for rel, s in _statuses(dialog).items() if s == "running")
    asked: list[bool] = []
    monkeypatch.setattr(BatchDialog, "confirm_stop", lambda self: asked.append(True) or True)
    dialog.close()  # asks, stops after the current file, closes once it has
    assert asked and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert not dialog.running()
    assert _statuses(dialog)[current] == "done"  # the current file was finished, not cut short
    assert list(_statuses(dialog).values()).count("done") < 4

    dialog.show()
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "running" in _statuses(dialog).values(), timeout=10000)
    window.close()  # the window's close asks too, then cancels and joins the batch thread
    assert len(asked) == 2 and not dialog.running()


def test_vary_a_folder_with_a_trained_lora(qtbot, dialog, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sys

    pytest.importorskip("diffusers")
    sys.path.insert(0, str(Path(__file__).parents[1] / "engines"))
    import diffusers_tiny

    from gptstudio.core.imageio import read_params

    base = diffusers_tiny.install("sd3", "tiny-sd3")
    diffusers_tiny.install("pixart-sigma", "tiny-pixart")
    lora = diffusers_tiny.train_lora(base, tmp_path / "captioned")
    src, out = _folder(tmp_path / "in", 2), tmp_path / "out"
    _choose(qtbot, dialog, monkeypatch, src, out)
    form = dialog.form
    form.set_task("generate")
    models = [form.model_combo.itemData(i) for i in range(form.model_combo.count())]
    assert base in models and "tiny-pixart" not in models, "a batch varies: only models that can vary"
    assert form.set_model(base)
    assert form.strength.value() < 1, "a variation keeps part of each picture"
    assert {"strength", "prompt", "seed", "lora"} <= form.shown_rows()
    form.prompt.setText("sks dog")
    assert not form.lora_strength.isEnabled(), "no strength without a LoRA"
    form.lora.setCurrentIndex(form.lora.findData(lora))
    assert form.lora_strength.isEnabled()
    form.lora_strength.setValue(0.7)
    form.seed.setValue(3)
    _wait_planned(qtbot, dialog, 2)
    dialog.start_button.click()
    _wait_stopped(qtbot, dialog)
    assert set(_statuses(dialog).values()) == {"done"}
    params = read_params(out / "img0.png")
    assert params["lora"] == lora and params["lora_strength"] == 0.7 and params["prompt"] == "sks dog"
    with Image.open(out / "sub" / "img1.png") as im:
        assert im.size == (32, 24)
