"""The packaged model catalog is complete and well-formed, and a broken catalog is refused clearly.

A bad URL, hash or task in catalog.json would only show up as a failed download on a user's
machine, so these tests check the shipped file itself, and that the validator names the entry and
the field when something is wrong.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.engines.base import TASKS
from gptstudio.models.catalog import EXTRA_ARCHITECTURES, CatalogEntry, load_catalog, parse_catalog

#: Licences that forbid commercial use: models under them must ask for confirmation.
NON_COMMERCIAL = {"CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0"}
#: File endings the safe weight reader accepts; TorchScript (.pt programs) must be flagged.
WEIGHT_SUFFIXES = (".pth", ".ckpt", ".bin", ".safetensors")


@pytest.fixture(scope="module")
def entries() -> tuple[CatalogEntry, ...]:
    return load_catalog().entries


def _downloadable(entries: tuple[CatalogEntry, ...]) -> list[CatalogEntry]:
    return [e for e in entries if not e.is_builtin]


def test_packaged_catalog_has_unique_ids_and_https_files(entries: tuple[CatalogEntry, ...]) -> None:
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    for e in _downloadable(entries):
        assert e.source.startswith("https://"), e.id
        for f in e.files:
            assert f.url.startswith("https://"), (e.id, f.url)
            assert f.size > 0, (e.id, f.name)
            assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256), (e.id, f.name)
        assert e.download_size == sum(f.size for f in e.files)


def test_every_entry_states_licence_tasks_and_memory(entries: tuple[CatalogEntry, ...]) -> None:
    for e in entries:
        assert e.licence and e.licence_url.startswith("https://"), e.id
        assert e.tasks and set(e.tasks) <= set(TASKS), e.id
        assert e.memory_mb > 0 and e.description, e.id


def test_each_task_of_the_issue_has_a_downloadable_model() -> None:
    catalog = load_catalog()
    for task in ("denoise", "restore", "upscale", "inpaint"):
        assert _downloadable(tuple(catalog.for_task(task))), f"no downloadable model for {task}"


def test_restricted_entries_are_exactly_the_non_commercial_ones(entries: tuple[CatalogEntry, ...]) -> None:
    restricted = {e.id for e in entries if e.restricted}
    # Stability AI's community licence restricts use above a revenue threshold: confirmed too.
    confirm = (*NON_COMMERCIAL, "Stability AI Community License")
    non_commercial = {e.id for e in entries if e.licence in confirm}
    assert restricted == non_commercial
    assert restricted, "the catalog should carry at least one non-commercial model, confirmed before download"


def test_builtin_entries_are_the_engines_the_registry_knows(entries: tuple[CatalogEntry, ...]) -> None:
    from gptstudio.models import registry

    known = {e.info.id: e.info for e in registry.entries()}
    builtins = {e.id: e for e in entries if e.is_builtin}
    assert {"grt-restoration", "classical-nlm", "classical-telea", "classical-lanczos"} <= set(builtins)
    for model_id, entry in builtins.items():
        assert model_id in known, f"built-in '{model_id}' is not an engine the registry offers"
        assert set(entry.tasks) == set(known[model_id].tasks), model_id


def test_spandrel_entries_name_spandrel_architectures(entries: tuple[CatalogEntry, ...]) -> None:
    """The manager compares these names with what spandrel detects in the downloaded file."""
    from spandrel import MAIN_REGISTRY

    names = {a.architecture.name for a in MAIN_REGISTRY.architectures()}
    # The extra-architectures list must only name what core spandrel lacks, or a model would be
    # flagged as needing an optional package it does not need.
    assert not EXTRA_ARCHITECTURES & names
    for e in entries:
        if e.engine != "spandrel":
            continue
        assert e.architecture in names | EXTRA_ARCHITECTURES, (e.id, e.architecture)
        assert e.needs_extra_architectures == (e.architecture in EXTRA_ARCHITECTURES), e.id
        # scale > 1 means an upscaler, and only upscalers enlarge
        assert (e.scale > 1) == ("upscale" in e.tasks), e.id


def test_torchscript_files_are_flagged(entries: tuple[CatalogEntry, ...]) -> None:
    """The safe reader refuses TorchScript; the catalog must not pass one off as plain weights."""
    for e in _downloadable(entries):
        for f in e.files:
            # diffusers and transformers folders have configs too
            if f.format == "weights" and e.engine not in ("diffusers", "transformers"):
                assert f.name.lower().endswith(WEIGHT_SUFFIXES), (e.id, f.name)
    lama = load_catalog().get("lama-big")
    assert [f.format for f in lama.files] == ["torchscript"]


#: The issue's model families, by catalog id (SCUNet σ15/25/50, SwinIR σ50 and Swin2SR's JPEG model
#: are missing: no size for them is published anywhere the catalog may take one from).
ISSUE_FAMILIES = {
    "denoise": {
        "scunet-color-real-psnr", "scunet-color-real-gan", "drunet-color",
        "swinir-m-color-dn-15", "swinir-m-color-dn-25",
    },
    "restore": {"scunet-color-real-psnr", "swinir-m-color-jpeg10"},
    "upscale": {
        "realesrgan-x4plus", "realesrgan-x2plus", "swinir-m-realsr-x4-gan",
        "swin2sr-classical-x2", "swin2sr-classical-x4", "swin2sr-compressed-x4",
        "nomos8ksc-x4", "ultrasharp-v2-x4", "remacri-x4",
    },
    "inpaint": {"lama-big", "mat-places-512"},
}  # fmt: skip


@pytest.mark.parametrize("task", sorted(ISSUE_FAMILIES))
def test_the_issues_model_families_are_offered_for_their_task(task: str) -> None:
    offered = {e.id for e in load_catalog().for_task(task)}
    assert ISSUE_FAMILIES[task] <= offered, sorted(ISSUE_FAMILIES[task] - offered)


def test_openmodeldb_favourites_come_with_their_records() -> None:
    """The issue asks for a few of OpenModelDB's most used upscalers, each sourced from its record."""
    from_openmodeldb = [
        e for e in load_catalog().for_task("upscale") if "openmodeldb.info/models/" in e.source
    ]
    assert len(from_openmodeldb) >= 3


def test_mat_is_offered_only_with_its_non_commercial_licence_confirmed() -> None:
    mat = load_catalog().get("mat-places-512")
    assert mat.licence == "CC-BY-NC-4.0" and mat.restricted
    assert mat.tasks == ("inpaint",) and mat.needs_extra_architectures
    assert [f.format for f in mat.files] == ["weights"]


def test_approximate_sizes_are_the_rounded_figures_that_were_published(
    entries: tuple[CatalogEntry, ...],
) -> None:
    """A size marked approximate is a published "61.1 MB", so it is a round number of bytes; an exact
    one that happens to be round would more likely be a rounded figure mislabelled as exact."""
    # diffusers folders: the hub lists small files in exact bytes and weights rounded ("2.41 GB");
    # transformers (Segment Anything): small JSON files listed by the hub in kB with three digits
    spandrel = [e for e in _downloadable(entries) if e.engine not in ("diffusers", "transformers")]
    approximate = [(e, f) for e in spandrel for f in e.files if not f.size_exact]
    assert approximate, "the catalog has approximate sizes; this test should see them"
    for e, f in approximate:
        assert f.size % 100_000 == 0, (e.id, f.name, f.size)
        assert not e.size_exact, e.id
    for e in spandrel:
        for f in e.files:
            if f.size_exact:
                assert f.size % 100_000 != 0, (e.id, f.name, f.size)


def test_lookup_errors_name_the_model_and_the_task() -> None:
    catalog = load_catalog()
    with pytest.raises(ModelError, match="'no-such-model' is not in the model catalog"):
        catalog.get("no-such-model")
    with pytest.raises(InvalidRequestError, match="Unknown task 'colorize'"):
        catalog.for_task("colorize")
    assert catalog.get("realesrgan-x4plus").scale == 4


# --- the validator ---------------------------------------------------------------------------------


def _minimal() -> dict[str, Any]:
    return {
        "version": 1,
        "models": [
            {
                "id": "good-model",
                "name": "Good",
                "tasks": ["upscale"],
                "engine": "spandrel",
                "architecture": "ESRGAN",
                "scale": 4,
                "description": "A model.",
                "licence": "MIT",
                "licence_url": "https://example.org/LICENSE",
                "restricted": False,
                "source": "https://example.org/releases",
                "memory_mb": 100,
                "files": [{"name": "a.pth", "url": "https://example.org/a.pth", "size": 10, "sha256": None}],
            },
            {
                "id": "other-model",
                "name": "Other",
                "tasks": ["denoise"],
                "engine": "builtin",
                "architecture": "x",
                "scale": 1,
                "description": "Built in.",
                "licence": "MIT",
                "licence_url": "https://example.org/LICENSE",
                "restricted": False,
                "source": "",
                "memory_mb": 100,
                "files": [],
            },
        ],
    }


def test_a_minimal_catalog_is_accepted() -> None:
    catalog = parse_catalog(_minimal())
    assert catalog.ids == ("good-model", "other-model")
    assert catalog.get("good-model").download_size == 10
    assert catalog.get("good-model").files[0].size_exact  # the default: a size in bytes is exact
    assert catalog.get("other-model").is_builtin


def test_an_approximate_size_still_counts_towards_the_download_size() -> None:
    """The dialog shows "about 71 MB" and the disk-space check still needs the bytes."""
    data = _minimal()
    model = data["models"][0]
    model["files"].append(
        {
            "name": "b.pth",
            "url": "https://example.org/b.pth",
            "size": 61_100_000,
            "sha256": None,
            "size_exact": False,
        }
    )
    entry = parse_catalog(data).get("good-model")
    assert [f.size_exact for f in entry.files] == [True, False]
    assert entry.download_size == 10 + 61_100_000
    assert not entry.size_exact


def _broken(change: str) -> tuple[dict[str, Any], str, str]:
    """A catalog with one defect; returns it with the entry id and field the error must name."""
    data = _minimal()
    model, file = data["models"][0], data["models"][0]["files"][0]
    if change == "duplicate id":
        data["models"][1]["id"] = "good-model"
        return data, "good-model", "id"
    if change == "http url":
        file["url"] = "http://example.org/a.pth"
        return data, "good-model", "files[0].url"
    if change == "uppercase hash":
        file["sha256"] = "A" * 64
        return data, "good-model", "files[0].sha256"
    if change == "short hash":
        file["sha256"] = "ab" * 16
        return data, "good-model", "files[0].sha256"
    if change == "unknown task":
        model["tasks"] = ["upscale", "colourise"]
        return data, "good-model", "tasks"
    if change == "zero size":
        file["size"] = 0
        return data, "good-model", "files[0].size"
    if change == "no licence link":
        model["licence_url"] = "LICENSE"
        return data, "good-model", "licence_url"
    if change == "builtin with files":
        data["models"][1]["files"] = [copy.deepcopy(file)]
        return data, "other-model", "files"
    if change == "misspelt field":
        model["memory"] = model.pop("memory_mb")
        return data, "good-model", "memory"
    if change == "unknown engine":
        model["engine"] = "onnx"
        return data, "good-model", "engine"
    if change == "size_exact not a bool":
        file["size_exact"] = "about"
        return data, "good-model", "files[0].size_exact"
    raise AssertionError(change)


@pytest.mark.parametrize(
    "change",
    [
        "duplicate id",
        "http url",
        "uppercase hash",
        "short hash",
        "unknown task",
        "zero size",
        "no licence link",
        "builtin with files",
        "misspelt field",
        "unknown engine",
        "size_exact not a bool",
    ],
)
def test_a_broken_catalog_is_refused_naming_the_entry_and_field(change: str) -> None:
    data, entry_id, field = _broken(change)
    with pytest.raises(ModelError) as caught:
        parse_catalog(data)
    message = str(caught.value)
    assert f"'{entry_id}'" in message and f"'{field}'" in message, message


def test_a_catalog_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text('{"version": 1, "models": [', encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_catalog(path)
    path.write_text(json.dumps(_minimal()), encoding="utf-8")
    assert load_catalog(path).ids == ("good-model", "other-model")
