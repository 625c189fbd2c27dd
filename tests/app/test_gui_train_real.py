"""Tools > Train… with the real ``gptstudio train`` child process: a tiny community denoiser
fine-tuned for three steps on a generated folder, found in the task panel afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

from gui_helpers import make_image
from PySide6.QtCore import Qt

from gptstudio.models import registry


def test_the_real_trainer_runs_from_the_dialog(qtbot, window, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from spandrel_tiny import save_as_authors_do, tiny_compact

    from gptstudio.models.importer import import_file
    from gptstudio.models.store import Store

    (tmp_path / "weights").mkdir()
    _pth, weights = save_as_authors_do(tiny_compact(1), tmp_path / "weights", "compact")
    import_file(weights, Store(), model_id="tiny-compact", name="Tiny compact")
    registry.refresh()  # as an import from the Models dialog does
    photos = tmp_path / "photos"
    for i in range(5):
        make_image(photos / f"p{i}.png", 96, 96)

    window.act_train.trigger()
    dialog = window.train_dialog
    qtbot.waitExposed(dialog)
    form = dialog.form
    qtbot.keyClicks(form.folder_edit, str(photos))
    form.name_edit.clear()
    qtbot.keyClicks(form.name_edit, "my-denoiser")
    form.base_combo.setCurrentIndex(form.base_combo.findData("tiny-compact"))
    form.preset_combo.setCurrentIndex(form.preset_combo.findData("quick"))
    form.steps_spin.selectAll()
    qtbot.keyClicks(form.steps_spin, "3")
    qtbot.waitUntil(lambda: form.folder_ok, timeout=10000)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.run.command[1:4] == ["-m", "gptstudio", "train"]
    run = dialog.run
    qtbot.waitUntil(lambda: not run.running(), timeout=240000)
    assert run.state.status == "done", run.state.error
    assert sorted(run.state.losses) == [1, 2, 3] and dialog.curve.point_count() == 3
    assert 0 in run.state.previews and "5 images" in dialog.data_label.text()
    assert "s per step" in dialog.estimate_label.text()
    assert "“my-denoiser” is in the model list for Denoise" in dialog.status.text()
    assert "Validation PSNR" in dialog.status.text()  # the base model's and the new one's
    window.panel.set_task("denoise")
    combo = window.panel.model_combo
    assert "my-denoiser" in [combo.itemData(i) for i in range(combo.count())]
