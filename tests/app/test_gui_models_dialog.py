"""The Models dialog driven like a person: filter, download from a local server with a moving
progress bar, cancel (the bytes stay), resume (the server saw a Range request), use the model in
the task panel, remove it, refuse a restricted licence, and import a weight file by drag and drop.

Everything is offline: a small catalog written by the test points at ``https://…`` URLs that
``GPTSTUDIO_DOWNLOAD_BASE_URL`` sends to a throttled HTTP server on 127.0.0.1, which serves a small
random Real-ESRGAN-compact ×2 saved as the authors save theirs (a BasicSR ``.pth``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox

from gptstudio.app import models_dialog
from gptstudio.app.models_dialog import ModelsDialog
from gptstudio.models.catalog import load_catalog
from gptstudio.models.store import Store

torch = pytest.importorskip("torch")
pytest.importorskip("spandrel")

TINY_ID = "tiny-compact-x2"
NC_ID = "tiny-compact-nc"
RATE = 100_000  # bytes/s while the test watches the progress bar; lifted for the resume


def tiny_upscaler_pth(path: Path, seed: int = 0) -> Path:
    """A random Real-ESRGAN-compact ×2 (~270 KB, so the throttled download takes a few seconds)."""
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    model = Compact(num_in_ch=3, num_out_ch=3, num_feat=48, num_conv=3, upscale=2)
    torch.save({"params_ema": {k: v.detach().clone() for k, v in model.state_dict().items()}}, path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tiny_upscaler_pth(tmp_path_factory.mktemp("weights") / "tiny.pth").read_bytes()


def _entry(model_id: str, name: str, data: bytes, *, restricted: bool = False) -> dict:
    return {
        "id": model_id,
        "name": name,
        "tasks": ["upscale"],
        "engine": "spandrel",
        "architecture": "RealESRGAN Compact",
        "scale": 2,
        "description": "A tiny random ×2 upscaler built by the test.",
        "licence": "CC-BY-NC-4.0" if restricted else "BSD-3-Clause",
        "licence_url": "https://example.com/licence",
        "restricted": restricted,
        "source": "https://example.com/release",
        "memory_mb": 300,
        "files": [
            {
                "name": f"{model_id}.pth",
                "url": f"https://example.com/models/{model_id}.pth",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest() if not restricted else None,
            }
        ],
    }


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, weights: bytes):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "models"))
    file_server = importlib.import_module("download_server").FileServer
    with file_server() as srv:
        for model_id in (TINY_ID, NC_ID):
            srv.add(f"/models/{model_id}.pth", weights, rate=RATE)
        monkeypatch.setenv("GPTSTUDIO_DOWNLOAD_BASE_URL", srv.base_url)
        yield srv


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, weights: bytes):  # type: ignore[no-untyped-def]
    """The real catalog's built-in entries plus two downloadable test entries."""
    models = [
        *_shipped_builtins(),
        _entry(TINY_ID, "Tiny compact ×2 (test)", weights),
        _entry(NC_ID, "Tiny compact, non-commercial (test)", weights, restricted=True),
    ]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"version": 1, "models": models}), encoding="utf-8")
    loaded = load_catalog(path)
    monkeypatch.setattr(models_dialog, "load_catalog", lambda: loaded)
    return loaded


def _shipped_builtins() -> list[dict]:
    from importlib.resources import files

    data = json.loads((files("gptstudio.resources") / "catalog.json").read_text(encoding="utf-8"))
    return [m for m in data["models"] if m["engine"] == "builtin"]


# --- driving the dialog ---------------------------------------------------------------------------


def open_models(qtbot, window, task: str) -> ModelsDialog:  # type: ignore[no-untyped-def]
    assert window.panel.set_task(task)
    qtbot.mouseClick(window.panel.get_more, Qt.MouseButton.LeftButton)
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ModelsDialog) and w.isVisible())
    qtbot.waitExposed(dialog)
    return dialog


def click_row(qtbot, dialog: ModelsDialog, model_id: str) -> None:  # type: ignore[no-untyped-def]
    item = dialog._items[model_id]
    dialog.tree.scrollToItem(item)
    rect = dialog.tree.visualItemRect(item)
    qtbot.mouseClick(dialog.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dialog.selected_id() == model_id


def state_of(dialog: ModelsDialog, model_id: str) -> str:
    return dialog._items[model_id].text(5)


def answer(qtbot, name: str, button_text: str) -> QMessageBox:  # type: ignore[no-untyped-def]
    """Wait for the message box ``name`` and click the button labelled ``button_text``."""
    found: list[QMessageBox] = []

    def shown() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(shown, timeout=5000)
    box = found[0]
    button = next(b for b in box.findChildren(QAbstractButton) if b.text().replace("&", "") == button_text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    return box


def choose(qtbot, combo, label: str) -> None:  # type: ignore[no-untyped-def]
    """Pick ``label`` in a combo box with the keyboard, as a person tabbing through would."""
    combo.setFocus()
    target = combo.findText(label)
    assert target >= 0, f"{label!r} not offered"
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        QTest.keyClick(combo, key)


def panel_models(window, task: str) -> list[str]:  # type: ignore[no-untyped-def]
    window.panel.set_task(task)
    combo = window.panel.model_combo
    return [combo.itemData(i) for i in range(combo.count())]


# --- tests ----------------------------------------------------------------------------------------


def test_filters_by_task_state_and_text(qtbot, window, catalog) -> None:  # type: ignore[no-untyped-def]
    dialog = open_models(qtbot, window, "inpaint")
    assert dialog.task_filter.currentText() == "Inpaint", "Get more… opens on the panel's task"
    assert "classical-telea" in dialog.visible_ids() and TINY_ID not in dialog.visible_ids()
    choose(qtbot, dialog.task_filter, "Upscale")
    assert {TINY_ID, NC_ID, "classical-lanczos"} <= set(dialog.visible_ids())
    assert "classical-telea" not in dialog.visible_ids()
    row = dialog._items[TINY_ID]
    assert row.text(2).endswith("KB") and row.text(3) == "BSD-3-Clause" and row.text(4) == "300 MB"
    assert state_of(dialog, TINY_ID) == "Available" and state_of(dialog, "classical-lanczos") == "Built in"
    assert "restricted" in dialog._items[NC_ID].toolTip(3)
    choose(qtbot, dialog.show_filter, "Installed")
    assert "classical-lanczos" in dialog.visible_ids() and TINY_ID not in dialog.visible_ids()
    choose(qtbot, dialog.show_filter, "All models")
    dialog.search.setFocus()
    QTest.keyClicks(dialog.search, "non-commercial")
    assert dialog.visible_ids() == [NC_ID]
    click_row(qtbot, dialog, NC_ID)
    text = dialog.details.toPlainText()
    assert "CC-BY-NC-4.0" in text and "restricted" in text
    assert "No sha256 was published" in text, "an unpublished hash is said so before the download"
    dialog.close()


def test_download_cancel_resume_use_and_remove(qtbot, window, catalog, server, weights) -> None:  # type: ignore[no-untyped-def]
    store = Store()
    dialog = open_models(qtbot, window, "upscale")
    assert TINY_ID not in panel_models(window, "upscale")
    click_row(qtbot, dialog, TINY_ID)
    assert dialog.download_button.text() == "Download"
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    box = answer(qtbot, "licenceDialog", "Download")
    assert "BSD-3-Clause" in box.text(), "the licence is shown before the download"

    # the progress bar moves while bytes arrive
    qtbot.waitUntil(lambda: dialog.progress.isVisible() and dialog.progress.value() > 0, timeout=10000)
    first = dialog.progress.value()
    qtbot.waitUntil(lambda: dialog.progress.value() > first, timeout=10000)
    assert state_of(dialog, TINY_ID).startswith("Downloading")
    assert "KB/s" in dialog.progress_label.text() or "MB/s" in dialog.progress_label.text()
    assert not dialog.download_button.isEnabled() and not dialog.remove_button.isEnabled()

    # a second download waits its turn, and cancelling it before it starts fetches nothing
    click_row(qtbot, dialog, NC_ID)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    answer(qtbot, "licenceDialog", "Accept licence and download")
    assert state_of(dialog, NC_ID) == "Queued"
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)

    click_row(qtbot, dialog, TINY_ID)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state_of(dialog, TINY_ID).startswith("Partly downloaded"), timeout=10000)
    kept = store.partial_bytes(TINY_ID)
    assert 0 < kept < len(weights), "the bytes so far stay on disk"
    assert not store.has(TINY_ID)
    assert dialog.download_button.text() == "Resume", "a partial download resumes"

    server.change(f"/models/{TINY_ID}.pth", rate=None)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    answer(qtbot, "licenceDialog", "Download")
    qtbot.waitUntil(lambda: state_of(dialog, TINY_ID) == "Installed", timeout=15000)
    assert state_of(dialog, NC_ID) == "Available" and not server.served(f"/models/{NC_ID}.pth")
    ranges = [r for r in server.served(f"/models/{TINY_ID}.pth") if r.range]
    assert ranges and ranges[-1].status == 206 and ranges[-1].start > 0, "the resume asked only for the rest"
    assert "Verified" in dialog.details.toPlainText(), "the published sha256 was checked"
    assert TINY_ID in panel_models(window, "upscale"), "the task panel lists the new model at once"

    click_row(qtbot, dialog, TINY_ID)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    answer(qtbot, "removeDialog", "Remove")
    assert state_of(dialog, TINY_ID) == "Available"
    assert not store.has(TINY_ID) and store.partial_bytes(TINY_ID) == 0
    assert TINY_ID not in panel_models(window, "upscale")
    dialog.close()


def test_restricted_licence_needs_a_yes_and_no_downloads_nothing(qtbot, window, catalog, server) -> None:  # type: ignore[no-untyped-def]
    dialog = open_models(qtbot, window, "upscale")
    click_row(qtbot, dialog, NC_ID)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    box = answer(qtbot, "licenceDialog", "Don't download")
    assert "restricted" in box.text() and "CC-BY-NC-4.0" in box.text()
    assert "non-commercial" in box.informativeText()
    qtbot.wait(200)
    assert server.served() == [], "declining sent no request"
    assert state_of(dialog, NC_ID) == "Available" and Store().partial_bytes(NC_ID) == 0
    assert dialog.downloads.jobs() == []
    dialog.close()


def _drop(widget, paths: list[Path]) -> bool:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = widget.rect().center()
    enter = QDragEnterEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(
        pos.toPointF(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def test_drop_a_pth_on_the_dialog_imports_it(qtbot, window, catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dialog = open_models(qtbot, window, "denoise")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a model")
    assert not _drop(dialog, [text_file]), "only weight files are accepted"
    path = tiny_upscaler_pth(tmp_path / "My-Upscaler x2.pth", seed=3)
    assert _drop(dialog, [path])
    qtbot.waitUntil(lambda: dialog.selected_id() == "my-upscaler-x2", timeout=15000)
    assert state_of(dialog, "my-upscaler-x2") == "Installed"
    assert "Upscale" in dialog._items["my-upscaler-x2"].text(1), "detected as a ×2 upscaler"
    assert "computed when it was imported" in dialog.details.toPlainText()
    assert "my-upscaler-x2" in panel_models(window, "upscale")
    dialog.close()
