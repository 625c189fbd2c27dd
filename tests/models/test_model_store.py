"""The store: one folder per model, installed by one rename, listed only when complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gptstudio.core.errors import ModelError
from gptstudio.models.store import INCOMING, Store, StoredFile, StoredModel, check_id, human_size, slug


def _model(model_id: str = "tiny-sr", **changes: object) -> StoredModel:
    fields: dict[str, object] = dict(
        id=model_id,
        name="Tiny SR",
        tasks=("upscale",),
        engine="spandrel",
        architecture="SwinIR",
        files=(StoredFile("w.safetensors", 5, "ab" * 32),),
        licence="MIT",
        detected={"scale": 2},
    )
    fields.update(changes)
    return StoredModel(**fields)  # type: ignore[arg-type]


def _install(store: Store, model: StoredModel) -> StoredModel:
    incoming = store.incoming(model.id)
    for f in model.files:
        (incoming / f.name).write_bytes(b"12345")
    return store.install(model, incoming)


def test_installed_model_round_trips_through_model_json(tmp_path: Path) -> None:
    store = Store(tmp_path)
    installed = _install(store, _model())
    again = store.get("tiny-sr")
    assert again == installed
    assert again.folder == tmp_path / "tiny-sr" and again.weights_path().read_bytes() == b"12345"
    assert again.installed.endswith("Z") and again.size == 5
    data = json.loads((tmp_path / "tiny-sr" / "model.json").read_text())
    assert data["id"] == "tiny-sr" and data["files"][0]["sha256"] == "ab" * 32 and "folder" not in data
    assert [m.id for m in store.list()] == ["tiny-sr"]
    assert not (tmp_path / INCOMING / "tiny-sr").exists()


def test_unfinished_download_is_not_a_model_and_counts_as_partial(tmp_path: Path) -> None:
    store = Store(tmp_path)
    (store.incoming("half") / "w.pth.part").write_bytes(b"x" * 300)
    assert store.list() == [] and not store.has("half")
    assert store.partial_bytes("half") == 300 and store.partial_bytes("other") == 0
    assert store.disk_usage() >= 300
    store.remove("half")  # removing also discards an unfinished download
    assert store.partial_bytes("half") == 0


def test_install_refuses_missing_files_and_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    incoming = store.incoming("tiny-sr")
    with pytest.raises(ModelError, match=r"w\.safetensors is missing"):
        store.install(_model(), incoming)
    assert not store.has("tiny-sr")


def test_reinstall_replaces_the_old_folder_only_when_complete(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _install(store, _model(name="old"))
    _install(store, _model(name="new"))
    assert store.get("tiny-sr").name == "new" and len(store.list()) == 1


def test_remove_deletes_the_folder_and_unknown_ids_are_explained(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _install(store, _model())
    store.remove("tiny-sr")
    assert not (tmp_path / "tiny-sr").exists() and store.list() == []
    with pytest.raises(ModelError, match="not installed"):
        store.remove("tiny-sr")
    with pytest.raises(ModelError, match="not installed"):
        store.get("tiny-sr")


def test_damaged_model_json_is_skipped_in_the_list_and_reported(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _install(store, _model())
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").write_text("{not json")
    assert [m.id for m in store.list()] == ["tiny-sr"]
    problems = store.problems()
    assert len(problems) == 1 and "broken" in problems[0] and "install it again" in problems[0]


def test_ids_are_folder_safe() -> None:
    for bad in ("", "../etc", "Upper", "a/b", "-lead", "x" * 101):
        with pytest.raises(ModelError, match="not a valid model id"):
            check_id(bad)
    check_id("4x-ultrasharp_v1.0")
    assert slug("4x-UltraSharp.pth") == "4x-ultrasharp.pth"
    assert slug("My Model (v2)") == "my-model-v2"
    assert slug("###") == "model"


def test_default_store_follows_the_user_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPTSTUDIO_DATA_DIR", str(tmp_path / "data"))
    assert Store().root == tmp_path / "data" / "models"


def test_human_sizes() -> None:
    assert human_size(999) == "999 B"
    assert human_size(1500) == "1.5 KB"
    assert human_size(67_040_000) == "67.0 MB"
    assert human_size(2.5e9) == "2.5 GB"
