"""The double-click launcher: the desktop entry installs, points at our GUI launcher, and removes."""

from __future__ import annotations

import configparser
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_installer():
    script = ROOT / "packaging" / "install_desktop_entry.py"
    spec = importlib.util.spec_from_file_location("install_desktop_entry", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_desktop_entry_installs_and_removes(tmp_path: Path) -> None:
    installer = _load_installer()
    written = installer.install(tmp_path)
    desktop = tmp_path / "applications" / "gptstudio.desktop"
    assert desktop in written and all(p.exists() for p in written)
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(desktop)
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert "gptstudio-gui" in section["Exec"] and section["Exec"].endswith("%f")
    assert "image/png" in section["MimeType"]
    assert installer.remove(tmp_path) == written
    assert not desktop.exists()
