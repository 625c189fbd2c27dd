"""The bundle's Linux integration, on a fake bundle folder (the real one takes minutes to build):
install.sh puts GPT Studio in the menu with its icons, offers it for images, links the command,
and uninstall.sh takes out exactly that — a temporary HOME looks as it did before."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")


def _build_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gptstudio_build", ROOT / "packaging" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A folder laid out like the built bundle, with stand-in programs that say who they are."""
    folder = tmp_path / "unpacked" / "gptstudio"
    folder.mkdir(parents=True)
    _build_module().stage_linux(folder)
    for name in ("gptstudio-gui", "gptstudio"):
        program = folder / name
        program.write_text(f'#!/bin/sh\necho "{name} $*"\n', encoding="utf-8")
        program.chmod(0o755)
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "a home"  # a space, as in many real paths
    path.mkdir()
    return path


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GPTSTUDIO_"))}
    env["HOME"] = str(home)
    return env


def _run(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(script), *args], env=_env(home), capture_output=True, text=True, timeout=120
    )


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every path under ``root`` with its content (or link target), to compare before and after."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_file():
            out[key] = path.read_bytes()
        else:
            out[key] = "dir"
    return out


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_adds_menu_entry_icons_open_with_and_command_then_uninstall_leaves_nothing(
    bundle: Path, home: Path
) -> None:
    before = _tree(home)
    done = _run(bundle / "install.sh", home)
    assert done.returncode == 0, done.stderr
    prefix = home / ".local" / "opt" / "gptstudio"
    desktop = home / ".local" / "share" / "applications" / "gptstudio.desktop"

    entry = _entry(desktop)
    assert entry["Exec"] == f'"{prefix}/gptstudio-gui" %f'
    assert entry["Terminal"] == "false" and entry["Icon"] == "gptstudio"
    assert {"image/png", "image/jpeg", "image/tiff", "image/openraster"} <= set(entry["MimeType"].split(";"))
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    if shutil.which("update-desktop-database"):  # what file managers read for "Open with"
        cache = (desktop.parent / "mimeinfo.cache").read_text(encoding="utf-8")
        assert "image/jpeg=gptstudio.desktop;" in cache

    hicolor = home / ".local" / "share" / "icons" / "hicolor"
    for size in SIZES:
        with Image.open(hicolor / f"{size}x{size}" / "apps" / "gptstudio.png") as icon:
            assert icon.size == (size, size)
    assert (hicolor / "scalable" / "apps" / "gptstudio.svg").read_text(encoding="utf-8").startswith("<svg")

    # the program folder is a copy, and the command on the PATH is the bundle's CLI
    assert (prefix / "gptstudio-gui").is_file() and not (prefix / "gptstudio-gui").is_symlink()
    cli = home / ".local" / "bin" / "gptstudio"
    assert (
        subprocess.run([str(cli), "--version"], capture_output=True, text=True).stdout
        == "gptstudio --version\n"
    )

    gone = _run(prefix / "uninstall.sh", home)
    assert gone.returncode == 0, gone.stderr
    assert _tree(home) == before


def test_uninstall_keeps_what_was_there_before(bundle: Path, home: Path) -> None:
    apps = home / ".local" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "viewer.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Viewer\nExec=viewer %f\nMimeType=image/png;\n",
        encoding="utf-8",
    )
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir()
    (bin_dir / "gptstudio").write_text("#!/bin/sh\necho pip-installed\n", encoding="utf-8")  # a pip install's
    if shutil.which("update-desktop-database"):
        subprocess.run(["update-desktop-database", str(apps)], check=True)
    before = _tree(home)

    done = _run(bundle / "install.sh", home)
    assert done.returncode == 0, done.stderr
    assert "left alone" in done.stdout
    assert (bin_dir / "gptstudio").read_text(encoding="utf-8").endswith("pip-installed\n")
    gone = _run(home / ".local" / "opt" / "gptstudio" / "uninstall.sh", home)
    assert gone.returncode == 0, gone.stderr
    assert _tree(home) == before  # the viewer is still offered for PNGs, and nothing of ours is


def test_installing_again_replaces_the_previous_install(bundle: Path, home: Path) -> None:
    before = _tree(home)
    assert _run(bundle / "install.sh", home).returncode == 0
    (bundle / "gptstudio-gui").write_text('#!/bin/sh\necho "version 2"\n', encoding="utf-8")
    again = _run(bundle / "install.sh", home)
    assert again.returncode == 0, again.stderr
    prefix = home / ".local" / "opt" / "gptstudio"
    assert "version 2" in (prefix / "gptstudio-gui").read_text(encoding="utf-8")
    assert _run(prefix / "uninstall.sh", home).returncode == 0
    assert _tree(home) == before


def test_a_foreign_folder_in_the_way_is_not_overwritten(bundle: Path, home: Path) -> None:
    prefix = home / ".local" / "opt" / "gptstudio"
    prefix.mkdir(parents=True)
    (prefix / "notes.txt").write_text("mine", encoding="utf-8")
    before = _tree(home)
    done = _run(bundle / "install.sh", home)
    assert done.returncode != 0
    assert "not a GPT Studio install" in done.stderr
    assert _tree(home) == before


def test_a_failed_install_takes_out_what_it_had_done(bundle: Path, home: Path) -> None:
    (bundle / "share" / "icons" / "gptstudio-512.png").unlink()  # a damaged download
    before = _tree(home)
    done = _run(bundle / "install.sh", home)
    assert done.returncode != 0
    assert _tree(home) == before


def test_uninstall_without_an_install_record_refuses(bundle: Path, home: Path) -> None:
    done = _run(bundle / "uninstall.sh", home)
    assert done.returncode != 0 and "not installed by install.sh" in done.stderr
    assert (bundle / "gptstudio-gui").exists()


def test_the_bundle_carries_the_resources_and_shipped_weights() -> None:
    """The spec takes gptstudio's package data whole: the catalog, every icon and the weights."""
    hooks = pytest.importorskip("PyInstaller.utils.hooks")
    collected = {
        Path(src).relative_to(ROOT).as_posix() for src, _dest in hooks.collect_data_files("gptstudio")
    }
    assert "gptstudio/resources/catalog.json" in collected
    assert {f"gptstudio/resources/icons/gptstudio-{n}.png" for n in SIZES} <= collected
    weights = sorted((ROOT / "gptstudio" / "engines" / "native" / "weights").glob("*.safetensors"))
    assert weights and {w.relative_to(ROOT).as_posix() for w in weights} <= collected
