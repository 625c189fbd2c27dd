"""The desktop editor (PySide6): the only package that imports Qt.

Importing this package is cheap on purpose: :func:`launch` imports Qt and the window only when it
runs, and nothing heavy (torch) is imported before the window is on screen.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gptstudio-gui", description="Open the GPT Studio editor.")
    parser.add_argument("image", nargs="?", help="an image to open")
    parser.add_argument("--mask", help="a mask to load with the image (white = change)")
    args, _unknown = parser.parse_known_args(argv)  # Qt's own options (-platform …) pass through
    return args


def create_window(argv: list[str] | None = None) -> tuple[Any, Any]:
    """Make the QApplication and the shown main window, opening the image and mask asked for.

    Split from :func:`launch` so the benchmark and the tests start the app exactly as users do.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    from gptstudio.core.logs import start_logging

    start_logging()  # a double-clicked app has no terminal: problems go to the support log
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gptstudio import __version__

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "gptstudio", *argv])
    app.setApplicationName("GPT Studio")
    app.setOrganizationName("gptstudio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("gptstudio")

    from gptstudio.app.appearance import saved_choice
    from gptstudio.app.main_window import MainWindow
    from gptstudio.app.theme import apply_theme
    from gptstudio.app.window_state import app_icon

    apply_theme(app, saved_choice())

    icon = app_icon()
    app.setWindowIcon(icon)  # type: ignore[attr-defined]
    window = MainWindow()
    window.setWindowIcon(icon)
    window.show()
    if args.image:
        QTimer.singleShot(0, lambda: window.open_path(args.image, args.mask, background=True))
    elif args.mask:
        print("--mask needs an image to go with it.", file=sys.stderr)
    QTimer.singleShot(0, window.offer_recovery)
    return app, window


def launch(argv: list[str] | None = None) -> int:
    """Open the main window (optionally with an image and a mask) and run until it closes."""
    app, _window = create_window(argv)
    return int(app.exec())


__all__ = ["create_window", "launch"]
