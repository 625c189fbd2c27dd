"""The result history is bounded by memory: with a small budget the oldest steps are dropped (and the
status bar says so), the steps that remain undo and redo pixel-exactly in 8 and 16 bits, and a
region result's undo entry holds only its region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import drag, make_image
from PySide6.QtCore import Qt

from gptstudio.app.convert import qimage_to_rgb
from gptstudio.app.history import BUDGET_KEY
from gptstudio.app.settings import settings
from gptstudio.core.imageio import from_array, save_image, to_uint8
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo, RestorationEngine
from gptstudio.models import registry

SHIFT_INFO = EngineInfo(
    id="test-shift",
    name="Shift (test)",
    tasks=("denoise",),
    architecture="test-shift",
    description="Brightens by a different, unrounded amount at every run.",
    tile=0,
    uses=frozenset({"strength"}),
    licence="test",
)


class Shift(RestorationEngine):
    """Every run gives other pixels, off the 8/16-bit grid, so exactness is really tested."""

    info = SHIFT_INFO
    runs = 0

    def restore(
        self, rgb: np.ndarray, *, strength: float, mode: str, state: TaskState, tile: int | None = None
    ) -> np.ndarray:
        type(self).runs += 1
        return np.mod(rgb * 0.97 + 0.0123 * type(self).runs + 0.000017, 1.0).astype(np.float32)


@pytest.fixture
def shift_engine() -> None:
    Shift.runs = 0
    registry.register(registry.ModelEntry(SHIFT_INFO, lambda device: Shift(), priority=300))


def _sixteen_bit(path: Path) -> Path:
    y, x = np.mgrid[0:200, 0:300]
    rgb = np.dstack([x * 211, y * 317, (x * y) % 65535]).astype(np.uint16)
    save_image(from_array(rgb), path, overwrite=True)
    return path


def _run_and_wait(qtbot, window, steps: int) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(window.panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.document.history) == steps, timeout=15000)
    qtbot.waitUntil(lambda: not window.jobs.controller.active_jobs(), timeout=15000)


@pytest.mark.parametrize("bits", [8, 16])
def test_small_budget_drops_oldest_steps_and_the_rest_undo_exactly(  # type: ignore[no-untyped-def]
    qtbot, window, shift_engine, tmp_path, bits
) -> None:
    path = make_image(tmp_path / "photo.png") if bits == 8 else _sixteen_bit(tmp_path / "deep.png")
    s = settings()
    s.setValue(BUDGET_KEY, 1.0 if bits == 8 else 1.5)  # MB: a few whole-image steps of this photo
    s.sync()
    window.open_path(path)
    assert window.document.image.bit_depth == bits
    window.panel.set_task("denoise")
    assert window.panel.set_model("test-shift")
    states = [window.document.image]
    messages = []
    for n in range(1, 9):
        _run_and_wait(qtbot, window, n)
        states.append(window.document.image)
        messages.append(window.statusBar().currentMessage())
    dropped = [m for m in messages if "oldest undo steps were dropped" in m]
    assert len(dropped) == 1, f"told once: {messages}"
    kept = window.undo_stack.count()
    assert 1 <= kept < 8, "the oldest results left the history"
    assert window.jobs.history.total_bytes <= 1.5 * 2**20
    assert len(window.document.history) == 8, "the parameters of every step stay in the document"
    for k in range(kept):
        window.act_undo.trigger()
        expected = states[8 - k - 1]
        assert np.array_equal(window.document.image.rgb, expected.rgb), f"undo {k + 1} is pixel-exact"
        assert len(window.document.history) == 8 - k - 1
    assert not window.undo_stack.canUndo(), "undo stops where the history was cut"
    shown = qimage_to_rgb(window.canvas.image_item.image())
    assert np.array_equal(shown, to_uint8(window.document.image.rgb)), "the canvas shows the document"
    for k in range(kept):
        window.act_redo.trigger()
        assert np.array_equal(window.document.image.rgb, states[8 - kept + k + 1].rgb), "redo is exact"
    assert np.array_equal(qimage_to_rgb(window.canvas.image_item.image()), to_uint8(states[8].rgb))


def test_region_result_keeps_only_its_region(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(make_image(tmp_path / "big.png", 640, 480))
    panel = window.panel
    assert panel.set_task("inpaint") and panel.set_model("test-green-fill")
    window.tools.set_size(16)
    window.tools.set_hardness(1.0)
    drag(window, [(100, 100), (140, 100)])
    before = window.document.image
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.document.history) == 1, timeout=15000)
    entry = window.jobs.history.entries[-1][0]
    assert not entry.edit.whole
    box = entry.edit.after.rgb.shape
    assert box[0] < 40 and box[1] < 80, f"the box is around the stroke, not the image: {box}"
    region_bytes = 2 * box[0] * box[1] * 3
    assert entry.edit.before.rgb.dtype == np.uint8
    # the cleared mask is kept as its box too, one byte a pixel, and counted in the budget
    if entry.mask_box is not None:
        assert entry.mask_box.alpha.dtype == np.uint8 and entry.mask_box.alpha.shape[0] < 40
        region_bytes += entry.mask_box.alpha.nbytes
    assert window.jobs.history.total_bytes == region_bytes, "about the region's size, not the image's"
    assert window.jobs.history.total_bytes < 640 * 480 * 3 / 50
    after = window.document.image
    window.act_undo.trigger()
    assert np.array_equal(window.document.image.rgb, before.rgb)
    window.act_redo.trigger()
    assert np.array_equal(window.document.image.rgb, after.rgb)


def test_a_landed_result_frees_its_job_images(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The job's input and the engine's output go with the job, without waiting for a full
    garbage collection (a job -> state -> callback -> job cycle kept 24-MP images alive)."""
    import gc
    import weakref

    window.open_path(make_image(tmp_path / "img.png", 320, 240))
    panel = window.panel
    assert panel.set_task("inpaint") and panel.set_model("test-green-fill")
    window.tools.set_size(16)
    drag(window, [(100, 100), (140, 100)])
    request_image = weakref.ref(window.document.image)
    gc.disable()
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(window.document.history) == 1, timeout=15000)
        qtbot.wait(50)
        assert request_image() is None or request_image() is window.document.original, "input freed"
        assert not [o for o in gc.get_objects() if type(o).__name__ in ("Job", "JobOutput", "InpaintRequest")]
    finally:
        gc.enable()
