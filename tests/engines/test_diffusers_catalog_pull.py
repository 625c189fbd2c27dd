"""A catalog PixArt-Σ download as it is published: the transformer from its own repository, the
text encoder, VAE and model_index.json from a shared component repository whose index still names
``PixArtAlphaPipeline``. Pulled through ``gptstudio models pull`` from a local server, it installs
as PixArt-Σ and generates; the same folder brought by a user is refused, because there that name
means a PixArt-α model."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import diffusers_tiny as tiny
import pytest
from diffusers_tiny import one_torch_thread  # noqa: F401  (autouse fixture)

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from download_server import FileServer

from gptstudio import cli
from gptstudio.models import catalog as catalog_module
from gptstudio.models import registry
from gptstudio.models.catalog import parse_catalog

pytest.importorskip("diffusers")

SHARED = "https://huggingface.co/PixArt-alpha/shared-components/resolve/0123abc"
OWN = "https://huggingface.co/PixArt-alpha/sigma-512/resolve/4567def"


def published_layout(tmp_path: Path) -> Path:
    """The tiny PixArt-Σ folder with the index the shared component repository publishes."""
    folder = tmp_path / "pixart"
    shutil.copytree(tiny.folder("pixart-sigma"), folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "PixArtAlphaPipeline"
    index["transformer"] = ["diffusers", "Transformer2DModel"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


def entry_for(folder: Path) -> dict:
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        base = OWN if rel.startswith("transformer/") else SHARED
        raw = {"name": path.name, "url": f"{base}/{rel}", "size": path.stat().st_size, "sha256": None}
        if "/" in rel:
            raw["folder"] = rel.rsplit("/", 1)[0]
        files.append(raw)
    files.sort(key=lambda f: f["url"].endswith("model_index.json"), reverse=True)
    return {
        "id": "test-pixart",
        "name": "Test PixArt-Σ",
        "tasks": ["generate"],
        "engine": "diffusers",
        "architecture": "diffusers-pixart-sigma",
        "scale": 1,
        "description": "A tiny PixArt-Σ served by the test.",
        "licence": "OpenRAIL++-M",
        "licence_url": "https://example.com/licence",
        "restricted": False,
        "source": "https://example.com/pixart",
        "memory_mb": 10,
        "files": files,
        "pipelines": {"text_to_image": "PixArtSigmaPipeline", "image_to_image": None, "inpainting": None},
        "revision": None,
    }


def test_a_shared_component_folder_installs_as_the_catalog_family_and_generates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = published_layout(tmp_path)
    raw = entry_for(folder)
    catalog = parse_catalog({"version": 1, "models": [raw]})
    with FileServer() as server:
        for f in raw["files"]:
            rel = f["url"].split("/resolve/", 1)[1].split("/", 1)[1]
            server.add(f["url"].removeprefix("https://huggingface.co"), (folder / rel).read_bytes())
        monkeypatch.setenv("GPTSTUDIO_DOWNLOAD_BASE_URL", server.base_url)
        monkeypatch.setattr(catalog_module, "load_catalog", lambda path=None: catalog)
        assert cli.main(["models", "pull", "test-pixart"]) == 0, capsys.readouterr().err
    assert "test-pixart" in [i.id for i in registry.models_for("generate")]
    out = tmp_path / "fox.png"
    args = ["generate", "--prompt", "a fox", "--model", "test-pixart", "--size", "32x32", "--steps", "2"]
    assert cli.main([*args, "--seed", "1", "-o", str(out)]) == 0, capsys.readouterr().err
    assert out.is_file()

    capsys.readouterr()
    assert cli.main(["models", "import", str(folder), "--id", "users-pixart"]) != 0
    assert "PixArtAlphaPipeline" in capsys.readouterr().err, "a user's folder is taken at its word"


def test_pinned_diffusers_entries_fetch_every_file_at_a_commit() -> None:
    """An entry with a revision downloads nothing from a moving branch: every URL names a commit,
    and the source repository's files name the entry's revision."""
    import re

    from gptstudio.models.catalog import load_catalog

    pinned = [e for e in load_catalog().entries if e.engine == "diffusers" and e.revision]
    assert {"amused-256", "amused-512", "pixart-sigma-512"} <= {e.id for e in pinned}
    for e in pinned:
        repo = e.source.removeprefix("https://huggingface.co/")
        for f in e.files:
            commit = re.search(r"/resolve/([^/]+)/", f.url)
            assert commit and re.fullmatch(r"[0-9a-f]{40}", commit.group(1)), (e.id, f.url)
            if f"/{repo}/" in f.url:
                assert commit.group(1) == e.revision, (e.id, f.url)
