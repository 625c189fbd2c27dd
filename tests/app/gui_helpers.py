"""Helpers the GUI tests share: sample images and mouse drags in image coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from gptstudio.core.imageio import from_array, save_image


def make_image(path: Path, width: int = 320, height: int = 240) -> Path:
    """A smooth colour gradient with a dark square: easy to tell apart from any result."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.dstack([x / width, y / height, np.full_like(x, 0.4)])
    rgb[height // 3 : height // 2, width // 3 : width // 2] = 0.1
    save_image(from_array(rgb), path, overwrite=True)
    return path


def scene_to_view(window, x: float, y: float) -> QPoint:  # type: ignore[no-untyped-def]
    return window.canvas.mapFromScene(QPointF(x, y))


def drag(window, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> None:  # type: ignore[no-untyped-def]
    """Press at the first image point, move through the others, release at the last."""
    viewport = window.canvas.viewport()
    view_pts = [scene_to_view(window, x, y) for x, y in points]
    QTest.mousePress(viewport, button, Qt.KeyboardModifier.NoModifier, view_pts[0])
    for p in view_pts[1:]:
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, button, Qt.KeyboardModifier.NoModifier, view_pts[-1])
