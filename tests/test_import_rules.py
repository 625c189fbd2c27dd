"""The layering in DESIGN.md holds: import-linter contracts pass, and no engine code pulls in Qt."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "broken" not in done.stdout.lower() or "0 broken" in done.stdout.lower()


def test_everything_outside_the_app_imports_without_qt() -> None:
    # A fresh interpreter, so nothing imported by other tests (pytest-qt) can hide a leak.
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import gptstudio

        skipped = ("gptstudio.app",)
        names = []
        for info in pkgutil.walk_packages(gptstudio.__path__, "gptstudio."):
            if info.name.startswith(skipped):
                continue
            importlib.import_module(info.name)
            names.append(info.name)
        qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "qasync"))
        print(len(names), "modules;", "Qt:", qt)
        assert not qt, qt
        assert "gptstudio.core.imageio" in names and "gptstudio.cli" in names, names
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
