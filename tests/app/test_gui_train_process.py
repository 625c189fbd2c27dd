"""The Train dialog's plumbing without a person at the keyboard: the command line it builds from
the settings, the program it starts in the double-click bundle, and the bundle's left-out Qt
modules (which pyqtgraph must do without)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gptstudio.app import train_run
from gptstudio.app.train_settings import Settings, arguments


def test_settings_turn_into_the_train_command() -> None:
    s = Settings(task="generate", data="/p", name="dog", base="tiny-flux", preset="quick", trigger="sks dog")
    args = arguments(s, Path("/r/events.jsonl"), Path("/r/control"), resume=True)
    assert args[:3] == ["train", "--task", "generate"]
    assert "--steps" not in args and "--damage" not in args  # the preset's steps; damage is not a LoRA's
    assert args[args.index("--trigger") + 1] == "sks dog"
    assert args[args.index("--events") + 1] == str(Path("/r/events.jsonl")) and args[-1] == "--resume"
    r = Settings(task="denoise", data="/p", name="cam", steps=300, damage="camera")
    args = arguments(r, Path("e"), Path("c"))
    assert args[args.index("--damage") + 1] == "camera" and args[args.index("--steps") + 1] == "300"
    assert "--base" not in args and "--resume" not in args and "--trigger" not in args


BUNDLE_CHILD = """
import importlib.abc, sys
EXCLUDED = {excluded!r}

class LeftOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == e or name.startswith(e + ".") for e in EXCLUDED):
            raise ModuleNotFoundError(f"No module named {{name!r}} (left out of the bundle)", name=name)
        return None

sys.meta_path.insert(0, LeftOut())
from gptstudio.app import create_window
app, window = create_window([])
dialog = window.show_train()
dialog.curve.set_points([1, 2], [0.5, 0.25])
print("points", dialog.curve.point_count())
window.shutdown()
"""


def test_the_dialog_opens_without_what_the_bundle_leaves_out(tmp_path: Path) -> None:
    """The bundle leaves Qt modules out (QtTest, which pyqtgraph imports only if present): the dialog
    must open and draw without them (the bundle's build takes too long for a test)."""
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from test_packaging_spec import spec_excludes

    child = BUNDLE_CHILD.format(excluded=spec_excludes())
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GPTSTUDIO_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "points 2" in done.stdout


def test_the_bundle_runs_its_command_line_program(monkeypatch, tmp_path: Path) -> None:
    """In the double-click bundle sys.executable is the windowed editor, which takes no commands:
    the trainer is the bundle's `gptstudio` program beside it."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gptstudio" / "gptstudio-gui"))
    command = train_run.trainer_command(["train", "--task", "denoise"])
    cli = "gptstudio.exe" if sys.platform == "win32" else "gptstudio"
    assert command == [str(tmp_path / "gptstudio" / cli), "train", "--task", "denoise"]
    monkeypatch.setattr(sys, "frozen", False)
    assert train_run.trainer_command(["train"])[1:] == ["-m", "gptstudio", "train"]
