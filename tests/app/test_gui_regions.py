"""The region tools driven like a person: a box around an object, clicks that refine it, the magic
wand, grow/shrink/feather — each one undo step, computed off the GUI thread."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from gui_helpers import Gate, drag, scene_to_view, wait_while_held
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gptstudio.app.tools import Tool
from gptstudio.core import selection
from gptstudio.core.imageio import from_array, save_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the tiny SAM builder


def object_photo(path: Path, w: int = 320, h: int = 240) -> np.ndarray:
    """A plain noisy background with a blue ellipse; returns the object's true mask."""
    rng = np.random.default_rng(0)
    img = np.clip(np.array([200, 210, 190]) + rng.normal(0, 5, (h, w, 3)), 0, 255).astype(np.uint8)
    truth = np.zeros((h, w), np.uint8)
    cv2.ellipse(truth, (160, 120), (60, 45), 15, 0, 360, 255, -1)
    img[truth > 0] = (50, 40, 160)
    save_image(from_array(img), path, overwrite=True)
    return truth


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    return float((a & b).sum() / max((a | b).sum(), 1))


def opened(window, tmp_path: Path) -> np.ndarray:  # type: ignore[no-untyped-def]
    truth = object_photo(tmp_path / "object.png")
    assert window.open_path(tmp_path / "object.png")
    return truth


def click(window, x: float, y: float, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    QTest.mouseClick(
        window.canvas.viewport(), Qt.MouseButton.LeftButton, modifier, scene_to_view(window, x, y)
    )


def settle(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not window.regions.busy(), timeout=30000)


def test_box_selects_the_object_clicks_refine_it_as_one_undo_step(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    truth = opened(window, tmp_path)
    window.tool_actions[Tool.OBJECT].trigger()
    drag(window, [(85, 60), (160, 120), (235, 180)])
    settle(qtbot, window)
    stack = window.undo_stack
    assert stack.count() == 1 and stack.text(0) == "Select object"
    assert iou(window.canvas.mask_item.alpha(), truth) > 0.95
    click(window, 92, 66)  # a background corner inside the box: forced into the selection
    settle(qtbot, window)
    assert stack.count() == 1, "a refining click amends the object's undo step"
    refined = window.canvas.mask_item.alpha()
    assert refined[66, 92] == 255
    stack.undo()
    assert not window.canvas.mask_item.alpha().any()  # back exactly to the empty mask
    stack.redo()
    assert np.array_equal(window.canvas.mask_item.alpha(), refined)
    drag(window, [(80, 55), (240, 185)])  # a new box: a new object, a new step
    settle(qtbot, window)
    assert stack.count() == 2


def test_select_object_runs_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gptstudio.tasks.regions as regions

    opened(window, tmp_path)
    gate = Gate(regions.grabcut_select)
    monkeypatch.setattr(regions, "grabcut_select", gate)
    window.tool_actions[Tool.OBJECT].trigger()
    drag(window, [(85, 60), (235, 180)])
    wait_while_held(qtbot, gate)
    settle(qtbot, window)
    assert window.undo_stack.count() == 1


def test_a_click_without_a_box_asks_for_one(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    opened(window, tmp_path)
    window.tool_actions[Tool.OBJECT].trigger()
    click(window, 160, 120)
    assert "box" in window.statusBar().currentMessage()
    assert window.undo_stack.count() == 0


def test_magic_wand_adds_and_alt_subtracts_with_the_tolerance(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    truth = opened(window, tmp_path)
    window.tool_actions[Tool.WAND].trigger()
    box = window.findChild(type(window.size_box), "wandTolerance")
    box.setValue(0)
    click(window, 160, 120)  # the flat blue object, exact colour
    settle(qtbot, window)
    mask = window.canvas.mask_item.alpha()
    assert np.array_equal(mask > 0, truth > 0)
    box.setValue(40)
    click(window, 5, 5, Qt.KeyboardModifier.AltModifier)  # Alt: take away (nothing there yet)
    settle(qtbot, window)
    click(window, 5, 5)  # the noisy background, within 40 levels: everything but the object
    settle(qtbot, window)
    mask = window.canvas.mask_item.alpha()
    assert mask.all()
    click(window, 160, 120, Qt.KeyboardModifier.AltModifier)
    settle(qtbot, window)
    assert np.array_equal(window.canvas.mask_item.alpha() == 0, truth > 0)
    assert [window.undo_stack.text(i) for i in range(window.undo_stack.count())][-1] == "Magic wand"


def test_grow_shrink_feather_are_undoable_steps(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    truth = opened(window, tmp_path)
    window.tool_actions[Tool.WAND].trigger()
    window.findChild(type(window.size_box), "wandTolerance").setValue(0)
    click(window, 160, 120)
    settle(qtbot, window)
    start = window.canvas.mask_item.alpha()
    for op, fn, px in (("grow", selection.grow, 5), ("shrink", selection.shrink, 3)):
        before = window.canvas.mask_item.alpha()
        window.regions.morph(op, px)
        settle(qtbot, window)
        assert np.array_equal(window.canvas.mask_item.alpha(), fn(before, px))
    window.regions.morph("feather", 6)
    settle(qtbot, window)
    soft = window.canvas.mask_item.alpha()
    assert ((soft > 0) & (soft < 255)).any()
    for _ in range(3):
        window.undo_stack.undo()
    assert np.array_equal(window.canvas.mask_item.alpha(), start)
    assert truth.any()


def test_tiny_segment_anything_model_from_the_store(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("transformers")
    from sam_tiny import install_tiny_sam

    from gptstudio.models.store import Store

    install_tiny_sam(Store(), "sam-tiny-gui", "sam")
    opened(window, tmp_path)
    window.tool_actions[Tool.OBJECT].trigger()
    combo = window.findChild(type(window.shape_combo), "segmenter")
    assert combo.findData("sam-tiny-gui") > 0
    combo.setCurrentIndex(combo.findData("sam-tiny-gui"))
    assert window.tools.segmenter == "sam-tiny-gui"
    drag(window, [(85, 60), (235, 180)])
    settle(qtbot, window)
    click(window, 160, 120)
    settle(qtbot, window)
    click(window, 100, 100, Qt.KeyboardModifier.AltModifier)
    settle(qtbot, window)
    session = window.regions.regions.worker.session
    assert session is not None and session.embeddings == 1  # encoded once, three prompts answered
    assert window.undo_stack.count() <= 1  # random weights may find nothing; never more than one step
