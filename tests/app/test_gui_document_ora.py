"""The document file, driven like a person: paint, run, Save As .ora, open something else, reopen it.

Everything comes back (the result, the original that Compare shows, the mask, the history and the
parameters), autosave writes the same file with the mask in it, and whole-mask edits on a big photo
leave the window ticking.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from gui_helpers import drag, make_image
from PySide6.QtWidgets import QFileDialog

from gptstudio.app.convert import qimage_to_rgb
from gptstudio.core.imageio import load_image, to_uint8
from gptstudio.core.ora import read_ora


def _inpaint(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.panel.set_task("inpaint")
    window.panel.set_model("test-green-fill")
    window.panel.seed.setValue(4242)
    window.panel.seed_lock.setChecked(True)
    window.tools.set_hardness(1.0)
    window.tools.set_size(20)
    drag(window, [(60, 60), (200, 60)])
    n = window.undo_stack.count()
    window.act_run.trigger()
    qtbot.waitUntil(lambda: window.undo_stack.count() == n + 1, timeout=15000)


def test_save_as_ora_and_reopen_restores_everything(qtbot, window, image_path, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    _inpaint(qtbot, window)
    drag(window, [(100, 180), (250, 180)])  # a second stroke, after the result: only in the mask
    mask = window.canvas.mask_item.alpha()
    image = to_uint8(window.document.image.rgb)
    target = tmp_path / "work.ora"
    asked: list[str] = []

    def choose(parent, caption, start, filters):  # type: ignore[no-untyped-def]
        asked.append(start)
        return str(target), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    window.act_save_as.trigger()
    qtbot.waitUntil(lambda: target.exists() and window.undo_stack.isClean(), timeout=15000)
    assert asked[0].endswith(".ora"), "Save As offers OpenRaster"
    with zipfile.ZipFile(target) as zf:
        assert zf.infolist()[0].filename == "mimetype"

    window.open_path(make_image(tmp_path / "other.png", 64, 48))  # the document is gone
    assert window.document.image.width == 64
    assert window.open_path(target)
    doc = window.document
    assert np.array_equal(to_uint8(doc.image.rgb), image), "the result came back"
    assert np.array_equal(window.canvas.mask_item.alpha(), mask), "the mask came back"
    assert doc.history and doc.history[-1]["model"] == "test-green-fill"
    assert doc.file_params.get("seed") == 4242, "Reuse parameters has the last job's parameters"
    original = to_uint8(load_image(image_path).rgb)
    assert np.array_equal(to_uint8(doc.original.rgb), original)
    window.act_compare.trigger()  # Compare shows the original, not the result
    before = qimage_to_rgb(window.canvas.before_item.image())
    assert np.array_equal(before, original)
    assert doc.save_path == target, "Save writes back to the document"
    assert window.undo_stack.isClean() and not window.is_dirty()


def test_autosave_is_an_ora_with_the_mask(qtbot, engines, image_path) -> None:  # type: ignore[no-untyped-def]
    from gptstudio.app.main_window import MainWindow

    win = MainWindow(autosave_interval_ms=50)
    try:
        win.show()
        win.open_path(image_path)
        win.tools.set_hardness(1.0)
        win.tools.set_size(20)
        drag(win, [(30, 30), (80, 30)])
        snapshot = win.autosaver.folder / "document.ora"
        qtbot.waitUntil(lambda: snapshot.exists() and not win.autosaver.busy(), timeout=10000)
        ora = read_ora(snapshot)
        assert ora.mask is not None and ora.mask[30, 50] == 255 and ora.mask[200, 200] == 0
        assert ora.meta["source_path"] == str(image_path)
    finally:
        win.shutdown()
        win.deleteLater()


def test_whole_mask_edits_on_a_big_photo_undo_exactly(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """12 MP: fill, invert, clear, and undoing them gives back the exact mask.

    Their GUI stall on 24 MP is a speed goal, measured by ``benchmarks/bench_gui.py``."""
    window.open_path(make_image(tmp_path / "big.png", 4000, 3000))
    drag(window, [(100, 100), (900, 700)])
    painted = window.canvas.mask_item.alpha()
    for act in (window.act_fill_mask, window.act_invert_mask, window.act_invert_mask, window.act_clear_mask):
        act.trigger()
        qtbot.wait(20)
    assert window.canvas.mask_item.is_empty()
    for _ in range(4):
        window.undo_stack.undo()
        qtbot.wait(20)
    assert np.array_equal(window.canvas.mask_item.alpha(), painted), "undo is exact"


def test_foreign_ora_opens_as_its_merged_image(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_image(tmp_path / "flat.png", 80, 60)
    target = tmp_path / "krita.ora"
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("mimetype", "image/openraster", compress_type=zipfile.ZIP_STORED)
        zf.writestr("stack.xml", "<image w='80' h='60'><stack><layer src='data/l.png'/></stack></image>")
        zf.writestr("data/l.png", src.read_bytes())
        zf.writestr("mergedimage.png", src.read_bytes())
    assert window.open_path(target)
    assert window.document.image.size == (80, 60)
    assert window.document.save_path is None, "Save would drop the other program's layers: it asks"
