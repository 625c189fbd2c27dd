"""Install a double-click launcher for GPT Studio into the current user's Linux desktop menu.

``pip install`` creates the ``gptstudio-gui`` launcher (a gui-script, so no console window opens
on Windows); this script adds the freedesktop ``.desktop`` entry and icon so the app also shows up
in the application menu and as an "Open with" choice for images. Usage::

    python packaging/install_desktop_entry.py            # install for this user
    python packaging/install_desktop_entry.py --remove   # take it out again
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESOURCES = HERE.parent / "resources"


def _xdg_data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _atomic_copy_text(text: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, target)


def install(data_home: Path) -> list[Path]:
    """Write the desktop entry (pointing at the installed launcher) and the icon."""
    launcher = shutil.which("gptstudio-gui") or "gptstudio-gui"
    entry = (RESOURCES / "gptstudio.desktop").read_text(encoding="utf-8")
    entry = entry.replace("Exec=gptstudio-gui", f"Exec={launcher}")
    desktop = data_home / "applications" / "gptstudio.desktop"
    icon = data_home / "icons" / "hicolor" / "scalable" / "apps" / "gptstudio.svg"
    _atomic_copy_text(entry, desktop)
    _atomic_copy_text((RESOURCES / "gptstudio.svg").read_text(encoding="utf-8"), icon)
    return [desktop, icon]


def remove(data_home: Path) -> list[Path]:
    removed = []
    for path in (
        data_home / "applications" / "gptstudio.desktop",
        data_home / "icons" / "hicolor" / "scalable" / "apps" / "gptstudio.svg",
    ):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remove", action="store_true", help="remove the launcher instead")
    args = parser.parse_args(argv)
    paths = remove(_xdg_data_home()) if args.remove else install(_xdg_data_home())
    for path in paths:
        print(("removed " if args.remove else "wrote ") + str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
