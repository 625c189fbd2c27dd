"""Render the app icon's PNG sizes (16 to 512 pixels) from its SVG source.

Why PNGs next to the SVG: freedesktop menus and "Open with" lists look icons up per size in the
hicolor theme, Windows' .ico and macOS' .icns are built from PNGs (PyInstaller converts them with
Pillow), and small sizes drawn by a rasteriser once are what every platform shows the same. Qt's
own SVG renderer (QtSvg, part of PySide6-Essentials) draws them, so no extra tool is needed.
Run it after editing the SVG and commit the PNGs::

    python packaging/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "gptstudio" / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, out_dir: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Write ``gptstudio-<size>.png`` for every size; returns the files written."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not an SVG Qt can draw")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = out_dir / f"gptstudio-{size}.png"
        tmp = target.with_name(f".{target.name}.tmp.png")
        if not image.save(str(tmp), "PNG"):
            raise SystemExit(f"could not write {target}")
        tmp.replace(target)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in render(ICONS / "gptstudio.svg", ICONS):
        print("wrote", path)
