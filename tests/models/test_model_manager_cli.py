"""`gptstudio models ...` end to end: import, pull from a local server, verify, remove, and use."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from download_server import FileServer
from PIL import Image
from spandrel_tiny import TINY, build_all, save_as_authors_do, tiny_compact, tiny_swinir

from gptstudio import cli
from gptstudio.models import catalog as catalog_module
from gptstudio.models import registry
from gptstudio.models.catalog import parse_catalog
from gptstudio.models.registry import ModelEntry, Registry
from gptstudio.models.store import Store


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import torch

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("weights")
    sr_pth, sr_st = save_as_authors_do(tiny_compact(2), folder, "tiny-compact-x2")
    dn_pth, _ = save_as_authors_do(tiny_swinir(1), folder, "tiny-swinir-dn")
    return {"sr_pth": sr_pth, "sr_st": sr_st, "dn_pth": dn_pth}


def _photo(path: Path, size: tuple[int, int] = (40, 32)) -> Path:
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_imported_upscaler_is_stored_as_safetensors_and_upscales_from_the_cli(
    weights: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "models", "import", str(weights["sr_pth"]), "--id", "my-x2")
    assert code == 0, err
    assert "my-x2: imported as RealESRGAN Compact ×2, for upscale" in out
    model = Store().get("my-x2")
    assert [f.name for f in model.files] == ["model.safetensors"] and model.detected["scale"] == 2
    assert model.source.startswith("file:") and not model.files[0].published_hash

    code, out, _ = run(capsys, "models", "list", "--task", "upscale")
    assert code == 0 and "my-x2" in out and "classical-lanczos" in out
    assert out.index("my-x2") < out.index("classical-lanczos")  # a learned upscaler beats Lanczos

    src = _photo(tmp_path / "in.png")
    code, out, err = run(
        capsys, "upscale", str(src), "-o", str(tmp_path / "out.png"), "--scale", "2", "--model", "my-x2"
    )
    assert code == 0, err
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (80, 64)

    code, out, _ = run(capsys, "models", "info", "my-x2")
    assert code == 0 and "detected scale" in out and "computed on first download" in out


def test_same_file_imported_twice_gets_a_second_id_but_an_explicit_id_is_never_replaced(
    weights: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "models", "import", str(weights["dn_pth"]))[0] == 0
    assert run(capsys, "models", "import", str(weights["dn_pth"]))[0] == 0
    assert {m.id for m in Store().list()} == {"tiny-swinir-dn", "tiny-swinir-dn-2"}
    code, _, err = run(capsys, "models", "import", str(weights["sr_st"]), "--id", "tiny-swinir-dn")
    assert code == 1 and "already installed" in err
    assert Store().get("tiny-swinir-dn").architecture == "SwinIR"


def test_a_pickle_that_runs_code_is_refused_and_nothing_is_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"params_ema": Payload()}))
    code, _, err = run(capsys, "models", "import", str(evil))
    assert code == 1 and "refused" in err and err.count("\n") == 1
    assert not marker.exists()
    assert Store().list() == [] and not any(Store().root.rglob("*.safetensors"))


def test_weights_no_architecture_matches_get_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch
    from safetensors.torch import save_file

    odd = tmp_path / "odd.safetensors"
    save_file({"foo.weight": torch.zeros(3, 3)}, str(odd))
    code, _, err = run(capsys, "models", "import", str(odd))
    assert code == 1 and err.startswith("gptstudio: ") and err.count("\n") == 1
    assert Store().list() == []


def test_verify_finds_a_damaged_file_and_remove_takes_the_model_away(
    weights: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "models", "import", str(weights["sr_st"]), "--id", "x2")[0] == 0
    code, out, _ = run(capsys, "models", "verify")
    assert code == 0 and "x2: ok" in out
    path = Store().get("x2").weights_path()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    code, out, _ = run(capsys, "models", "verify", "x2")
    assert code == 1 and "does not match its sha256" in out

    assert run(capsys, "models", "remove", "x2")[0] == 0
    code, out, _ = run(capsys, "models", "list", "--task", "upscale")
    assert "x2 " not in out and not Store().has("x2")
    src = _photo(tmp_path / "in.png")
    code, _, err = run(capsys, "upscale", str(src), "-o", str(tmp_path / "o.png"), "--model", "x2")
    assert code == 1 and "Unknown model 'x2'" in err


def _catalog_with(url: str, data: bytes, *, restricted: bool = False, published: bool = True) -> object:
    entry = {
        "id": "test-x2",
        "name": "Test ×2 upscaler",
        "tasks": ["upscale"],
        "engine": "spandrel",
        "architecture": "RealESRGAN Compact",
        "scale": 2,
        "description": "A tiny upscaler served by the test.",
        "licence": "CC-BY-NC-4.0" if restricted else "MIT",
        "licence_url": "https://example.com/licence",
        "restricted": restricted,
        "source": "https://example.com/release",
        "memory_mb": 10,
        "files": [
            {
                "name": "tiny.pth",
                "url": url,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest() if published else None,
            }
        ],
    }
    return parse_catalog({"version": 1, "models": [entry]})


def test_pull_downloads_verifies_and_installs_and_restricted_licences_need_confirmation(
    weights: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = weights["sr_pth"].read_bytes()
    with FileServer() as server:
        server.add("/release/tiny.pth", data, drop_after=len(data) // 2, drop_times=1)
        monkeypatch.setenv("GPTSTUDIO_DOWNLOAD_BASE_URL", server.base_url)
        catalog = _catalog_with("https://example.com/release/tiny.pth", data, restricted=True)
        monkeypatch.setattr(catalog_module, "load_catalog", lambda path=None: catalog)

        code, _, err = run(capsys, "models", "pull", "test-x2")
        assert code == 1 and "--accept-licence" in err and "CC-BY-NC-4.0" in err
        assert not server.served() and not Store().has("test-x2")

        code, out, err = run(capsys, "models", "pull", "test-x2", "--accept-licence")
        assert code == 0, err
        ranges = [r.range for r in server.served()]
        assert ranges[0] is None and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"
    model = Store().get("test-x2")
    assert model.files[0].published_hash and model.restricted and model.detected["scale"] == 2
    assert "test-x2" in [i.id for i in registry.models_for("upscale")]
    code, out, _ = run(capsys, "models", "list", "--available")
    assert "test-x2" in out and "installed" in out


def test_pull_without_published_hash_says_the_hash_was_computed(
    weights: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = weights["sr_pth"].read_bytes()
    with FileServer() as server:
        server.add("/release/tiny.pth", data)
        monkeypatch.setenv("GPTSTUDIO_DOWNLOAD_BASE_URL", server.base_url)
        catalog = _catalog_with("https://example.com/release/tiny.pth", data, published=False)
        monkeypatch.setattr(catalog_module, "load_catalog", lambda path=None: catalog)
        code, _, err = run(capsys, "models", "pull", "test-x2")
    assert code == 0 and "no sha256 is published" in err
    stored = json.loads((Store().folder("test-x2") / "model.json").read_text())
    assert stored["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["files"][0]["published_hash"] is False


def test_registries_are_independent_objects(tmp_path: Path) -> None:
    a, b = Registry(Store(tmp_path / "a")), Registry(Store(tmp_path / "b"))
    info = a.info("classical-lanczos")
    a.register(ModelEntry(info.__class__(**{**info.__dict__, "id": "only-in-a"}), lambda d: None))
    assert "only-in-a" in [i.id for i in a.models_for("upscale")]
    assert "only-in-a" not in [i.id for i in b.models_for("upscale")]
    assert a.default_model("denoise") == "grt-restoration"  # the shipped model stays the default


def test_torchscript_is_refused_unless_the_user_allows_it_and_is_then_stored_as_safetensors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    program = tmp_path / "scripted.pt"
    torch.jit.trace(tiny_compact(2).eval(), torch.rand(1, 3, 16, 16)).save(str(program))
    code, _, err = run(capsys, "models", "import", str(program))
    assert code == 1 and "TorchScript" in err and "--allow-torchscript" in err and not Store().list()

    code, _, err = run(capsys, "models", "import", str(program), "--allow-torchscript")
    assert code == 0, err
    model = Store().get("scripted")
    assert [f.name for f in model.files] == ["model.safetensors"] and model.detected["scale"] == 2


def test_the_catalog_narrows_the_tasks_detection_allows(
    weights: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A σ-specific denoiser from the catalog is offered for denoise only, not for every restore."""
    data = weights["dn_pth"].read_bytes()
    raw = {
        "id": "test-dn",
        "name": "Test denoiser",
        "tasks": ["denoise"],
        "engine": "spandrel",
        "architecture": "SwinIR",
        "scale": 1,
        "description": "A tiny denoiser served by the test.",
        "licence": "MIT",
        "licence_url": "https://example.com/licence",
        "restricted": False,
        "source": "https://example.com/release",
        "memory_mb": 10,
        "files": [{"name": "dn.pth", "url": "https://example.com/dn.pth", "size": len(data), "sha256": None}],
    }
    catalog = parse_catalog({"version": 1, "models": [raw]})
    with FileServer() as server:
        server.add("/dn.pth", data)
        monkeypatch.setenv("GPTSTUDIO_DOWNLOAD_BASE_URL", server.base_url)
        monkeypatch.setattr(catalog_module, "load_catalog", lambda path=None: catalog)
        assert run(capsys, "models", "pull", "test-dn")[0] == 0
    assert "test-dn" in [i.id for i in registry.models_for("denoise")]
    assert "test-dn" not in [i.id for i in registry.models_for("restore")]


@pytest.fixture(scope="module")
def every_tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    return build_all(tmp_path_factory.mktemp("every"))


@pytest.mark.parametrize("name", sorted(TINY))
def test_every_architecture_imported_from_the_authors_file_runs_its_tasks_from_the_cli(
    every_tiny: dict[str, tuple[Path, Path]], name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SwinIR, Swin2SR, DRUNet and Real-ESRGAN Compact: import the .pth, then denoise/restore/upscale."""
    _build, _arch, scale, task_names = TINY[name]
    pth, st = every_tiny[name]
    code, _, err = run(capsys, "models", "import", str(pth), "--id", f"{name}-pth")
    assert code == 0, err
    assert run(capsys, "models", "import", str(st), "--id", f"{name}-st")[0] == 0
    src = _photo(tmp_path / "in.png", (40, 32))
    for suffix in ("pth", "st"):
        for task in task_names:
            out_path = tmp_path / f"{task}-{suffix}.png"
            extra = ["--scale", str(scale)] if task == "upscale" else []
            code, _, err = run(
                capsys, task, str(src), "-o", str(out_path), "--model", f"{name}-{suffix}", *extra
            )
            assert code == 0, err
            with Image.open(out_path) as im:
                assert im.size == (40 * scale, 32 * scale)
                changed = np.asarray(im.convert("RGB").resize((40, 32)), dtype=np.int16)
            assert np.abs(changed - np.asarray(Image.open(src), dtype=np.int16)).max() > 0
    # The same weights, read from either file, give the same picture.
    first = [tmp_path / f"{task_names[0]}-{s}.png" for s in ("pth", "st")]
    assert np.array_equal(np.asarray(Image.open(first[0])), np.asarray(Image.open(first[1])))
