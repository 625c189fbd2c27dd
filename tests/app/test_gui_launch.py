"""Starting the app: importing gptstudio.app is cheap, and torch is not imported before the window
is on screen (the device name is looked up afterwards, in the worker thread)."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import sys
import gptstudio.app
assert "PySide6" not in sys.modules, "importing gptstudio.app pulled in Qt"
from PySide6.QtTest import QTest
app, window = gptstudio.app.create_window([sys.argv[1]])
assert QTest.qWaitForWindowExposed(window, 10000)
print("TORCH_BEFORE_VISIBLE", "torch" in sys.modules, flush=True)
while window.document is None:
    app.processEvents()
print("OPENED", window.document.source_path.name, flush=True)
window.shutdown()
"""


def test_window_appears_before_torch_is_imported(image_path) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("GPTSTUDIO_DEVICE", None)  # the real default: the app will look for a GPU
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(image_path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "TORCH_BEFORE_VISIBLE False" in out.stdout
    assert f"OPENED {image_path.name}" in out.stdout
