"""The bundle's spec leaves modules out to save space; none of them may be one the app needs.

Building the bundle takes minutes, so this runs the real code paths — the editor's window and a
denoise through the CLI — in a Python that refuses to import anything on the spec's exclude list,
which is what the bundle does. (It would have caught ``torch.testing``, which torch imports.)
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "gptstudio.spec"

CHILD = """
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
window.shutdown()
from gptstudio.cli import main
sys.exit(main(["--debug", "denoise", sys.argv[1], "-o", sys.argv[2]]))
"""


def spec_excludes() -> list[str]:
    """The EXCLUDES list of the spec (the part that applies to every build)."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "EXCLUDES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("the spec has no EXCLUDES list")


def test_the_spec_leaves_out_the_big_unused_parts() -> None:
    excluded = spec_excludes()
    assert {"triton", "ray", "pytest", "PySide6.QtQml", "PySide6.QtNetwork"} <= set(excluded)


def test_the_editor_and_a_cli_denoise_run_without_what_the_spec_leaves_out(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    photo = (128 + rng.normal(0, 20, (48, 64, 3))).clip(0, 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "noisy.png")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GPTSTUDIO_DEVICE="cpu")
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(excluded=spec_excludes()), str(tmp_path / "noisy.png"),
         str(tmp_path / "clean.png")],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    with Image.open(tmp_path / "clean.png") as out:
        assert out.size == (64, 48)
