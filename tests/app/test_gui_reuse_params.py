""""Reuse parameters" repeats the job exactly, including settings the panel shows no control for."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from gptstudio.core.imageio import load_image, save_image


def test_reuse_carries_grow_and_tile_into_the_next_inpaint(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = tmp_path / "made.png"
    params = {
        "task": "inpaint",
        "model": "test-green-fill",
        "seed": 99,
        "feather": 3.5,
        "grow": 9,
        "tile": 0,
    }
    save_image(load_image(image_path), made, params=params)
    assert window.open_path(made)
    qtbot.mouseClick(window.panel.reuse_button, Qt.MouseButton.LeftButton)
    mask = np.zeros(window.document.image.rgb.shape[:2], np.float32)
    mask[10:20, 10:20] = 1.0
    request = window.panel.build_request(window.document.image, mask)
    assert (request.grow, request.tile, request.feather) == (9, 0, 3.5)

    # Another task does not inherit the inpaint's hidden settings.
    window.panel.set_task("denoise")
    request = window.panel.build_request(window.document.image, None)
    assert request.tile is None


def test_noise_level_is_auto_by_default_set_by_hand_and_reused(qtbot, window, image_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window.open_path(image_path)
    panel = window.panel
    panel.set_task("denoise")
    assert panel.set_model("classical-nlm")
    assert panel.noise_level.text() == "Auto"
    assert panel.build_request(window.document.image, None).noise_level is None
    panel.noise_level.setValue(30)
    assert panel.build_request(window.document.image, None).noise_level == 30.0
    made = tmp_path / "made.png"
    params = {"task": "denoise", "model": "classical-nlm", "noise_level": 12}
    save_image(load_image(image_path), made, params=params)
    panel.noise_level.setValue(-1)
    assert window.open_path(made)
    qtbot.mouseClick(panel.reuse_button, Qt.MouseButton.LeftButton)
    assert panel.build_request(window.document.image, None).noise_level == 12.0
