"""Running tasks from the panel: results land as undoable edits, only inside the mask for inpainting,
failures show a dialog and never take the app down, and the panel shows only the settings that matter."""

from __future__ import annotations

import numpy as np
from gui_helpers import drag
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from gptstudio.app.convert import qimage_to_rgb
from gptstudio.core.errors import ModelError
from gptstudio.engines.base import EngineInfo, RestorationEngine
from gptstudio.models import registry


def canvas_rgb(window) -> np.ndarray:  # type: ignore[no-untyped-def]
    return qimage_to_rgb(window.canvas.image_item.image())


def open_dialog(qtbot, name: str) -> QMessageBox:  # type: ignore[no-untyped-def]
    found: list[QMessageBox] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible, timeout=10000)
    return found[0]


def test_inpaint_result_lands_inside_mask_and_undoes(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    panel = window.panel
    assert panel.set_task("inpaint") and panel.set_model("test-green-fill")
    window.tools.set_size(24)
    window.tools.set_hardness(1.0)
    drag(window, [(100, 120), (220, 120)])
    original = canvas_rgb(window)
    panel.prompt.setPlainText("green grass")
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 2, timeout=15000)
    result = canvas_rgb(window)
    assert tuple(result[120, 160]) == (0, 255, 0), "the masked pixels were filled"
    assert np.array_equal(result[20:60], original[20:60]), "pixels far from the mask never change"
    assert window.document.history[-1]["model"] == "test-green-fill"
    assert window.document.history[-1]["prompt"] == "green grass"
    assert not panel.cancel_button.isEnabled()
    window.act_undo.trigger()
    assert np.array_equal(canvas_rgb(window), original)
    assert window.document.history == []
    assert window.canvas.mask_item.alpha()[120, 160] == 255, "undoing the result keeps the mask"
    window.act_redo.trigger()
    assert tuple(canvas_rgb(window)[120, 160]) == (0, 255, 0)


def test_panel_shows_only_what_the_model_uses(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = window.panel
    tasks = [panel.task_combo.itemData(i) for i in range(panel.task_combo.count())]
    assert "inpaint" in tasks and "denoise" in tasks
    assert "generate" not in tasks, "no generative model is installed"
    panel.set_task("inpaint")
    panel.set_model("test-green-fill")
    assert {"prompt", "negative_prompt", "seed", "steps"} <= panel.visible_parameters()
    assert "guidance" not in panel.visible_parameters()
    panel.set_model("classical-telea")
    assert panel.visible_parameters() == {"feather"}, "Telea ignores prompts and seeds"
    panel.set_task("denoise")
    panel.set_model("classical-nlm")
    assert panel.visible_parameters() == {"strength", "noise_level"}
    panel.set_model("test-slow-invert")
    assert panel.visible_parameters() == {"strength"}, "no noise-level control on this model"


def test_unlocked_seed_changes_each_run_locked_seed_stays(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.panel.set_task("inpaint")
    window.panel.set_model("test-green-fill")
    window.act_fill_mask.trigger()
    window.panel.seed_lock.setChecked(True)
    window.panel.seed.setValue(1234)
    window.act_run.trigger()
    qtbot.waitUntil(lambda: len(window.document.history) == 1, timeout=15000)
    assert window.document.history[0]["seed"] == 1234
    window.panel.seed_lock.setChecked(False)
    window.act_fill_mask.trigger()  # the landed fill cleared the mask
    window.act_run.trigger()
    qtbot.waitUntil(lambda: len(window.document.history) == 2, timeout=15000)
    assert window.document.history[1]["seed"] == window.panel.seed.value() != 1234


def test_empty_mask_is_explained_not_run(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.panel.set_task("inpaint")
    assert window.run_task() is None
    box = open_dialog(qtbot, "errorDialog")
    assert "mask is empty" in box.informativeText()
    box.accept()


class _Broken(RestorationEngine):
    info = EngineInfo(
        id="test-broken",
        name="Broken (test)",
        tasks=("denoise",),
        architecture="test",
        uses=frozenset({"strength"}),
    )

    def restore(self, rgb, *, strength, mode, state, tile=None):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("a bug in the engine")


def test_failed_job_shows_details_and_app_keeps_working(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    registry.register(registry.ModelEntry(_Broken.info, lambda device: _Broken(), priority=200))
    window.panel.refresh_tasks()
    window.open_path(image_path)
    window.panel.set_task("denoise")
    assert window.panel.set_model("test-broken")
    window.act_run.trigger()
    box = open_dialog(qtbot, "errorDialog")
    assert "ZeroDivisionError" in box.informativeText()
    assert "Traceback" in box.detailedText(), "the details hold the traceback for a bug report"
    box.accept()
    assert window.undo_stack.count() == 0
    assert not window.panel.cancel_button.isEnabled()
    # the same worker still runs the next job
    window.act_fill_mask.trigger()
    window.panel.set_task("inpaint")
    window.panel.set_model("test-green-fill")
    window.act_run.trigger()
    qtbot.waitUntil(lambda: len(window.document.history) == 1, timeout=15000)


def test_user_errors_show_their_own_message(qtbot, window, image_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.panel.set_task("denoise")

    def missing(*_a, **_k):  # type: ignore[no-untyped-def]
        raise ModelError("The model file is missing; reinstall it from Models.")

    monkeypatch.setattr(registry, "load", missing)
    window.act_run.trigger()
    box = open_dialog(qtbot, "errorDialog")
    assert box.windowTitle() == "Model problem"
    assert box.informativeText() == "The model file is missing; reinstall it from Models."
    box.accept()


def test_real_classical_denoise_runs_through_the_worker(qtbot, window, image_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    window.panel.set_task("denoise")
    window.panel.set_model("classical-nlm")
    window.panel.strength.setValue(0.8)
    QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.undo_stack.count() == 1, timeout=60000)
    assert window.document.history[-1]["model"] == "classical-nlm"
    assert "Denoise done" in window.panel.status.text()


def test_generate_appears_once_a_generation_model_is_installed(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """No menu entry that cannot run: Generate is offered only with a model that generates."""
    from dataclasses import replace

    import fake_engines

    window.panel.refresh_tasks()
    tasks = [window.panel.task_combo.itemData(i) for i in range(window.panel.task_combo.count())]
    assert "generate" not in tasks, "no generation model installed, so no Generate entry"
    info = replace(fake_engines.FILL_INFO, id="test-generate", tasks=("generate",))
    registry.register(registry.ModelEntry(info, lambda device: fake_engines.GreenFill()))
    window.panel.refresh_tasks()
    assert window.panel.set_task("generate")
    assert window.panel.current_model().id == "test-generate"
    assert "prompt" in window.panel.visible_parameters()
