"""Start the real app (the `gptstudio gui IMAGE --mask MASK` command) on a virtual X display and
take a screenshot: it must show a window with the photo and the mask, not a blank screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gptstudio.core.imageio import from_array, save_image

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None,
    reason="Xvfb is not installed (apt-get install xvfb), so no X display to test on",
)

SCREEN = (1440, 900)
GRAB = (
    "import sys\n"
    "from PySide6.QtGui import QGuiApplication\n"
    "app = QGuiApplication(sys.argv[:1])\n"
    "ok = app.primaryScreen().grabWindow(0).save(sys.argv[1])\n"
    "sys.exit(0 if ok else 3)\n"
)


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not report a display number")
    return proc, f":{number}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _red_tinted(pixels: np.ndarray) -> int:
    r, g, b = (pixels[:, :, i].astype(int) for i in range(3))
    return int(((r - g > 60) & (r - b > 60)).sum())


def test_real_app_under_xvfb_shows_image_and_mask(tmp_path: Path) -> None:
    x = np.mgrid[0:600, 0:900][1].astype(np.float32)
    gray = (0.25 + 0.5 * x / 900)[:, :, None] * np.ones(3, np.float32)  # neutral: no red of its own
    image = tmp_path / "photo.png"
    save_image(from_array(gray), image)
    mask = np.zeros((600, 900), np.uint8)
    mask[200:400, 300:600] = 255
    save_image(from_array(mask), tmp_path / "mask.png")
    shot = tmp_path / "gptstudio-window.png"

    xvfb, display = _start_xvfb()
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    env.pop("WAYLAND_DISPLAY", None)
    app = subprocess.Popen(
        [sys.executable, "-m", "gptstudio", "gui", str(image), "--mask", str(tmp_path / "mask.png")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    pixels = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert app.poll() is None, app.communicate()[0].decode(errors="replace")[-3000:]
            subprocess.run([sys.executable, "-c", GRAB, str(shot)], env=env, timeout=30, check=True)
            pixels = np.asarray(Image.open(shot).convert("RGB"))
            if pixels.std() > 10 and _red_tinted(pixels) > 20_000:
                break
            time.sleep(0.5)
    finally:
        _stop(app)
        _stop(xvfb)
    keep = os.environ.get("GPTSTUDIO_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / shot.name)
    assert pixels is not None
    assert pixels.shape[:2] == (SCREEN[1], SCREEN[0])
    assert pixels.std() > 10, "the screen is uniform: no window was drawn"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100, "too few colours for a window with a photo"
    assert _red_tinted(pixels) > 20_000, f"the mask overlay is not visible (screenshot: {shot})"
