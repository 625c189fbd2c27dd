"""Install a double-click launcher for GPT Studio into the current user's Linux desktop menu.

``pip install`` creates the ``gptstudio-gui`` launcher (a gui-script, so no console window opens
on Windows); this script adds the freedesktop ``.desktop`` entry and icons so the app also shows up
in the application menu and as an "Open with" choice for images. (The bundle built by
``packaging/build.py`` has its own ``install.sh``, which needs no Python.) Usage::

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
TEMPLATE = HERE / "linux" / "gptstudio.desktop.in"  # the same entry the bundle's install.sh writes
ICONS = HERE.parent / "gptstudio" / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _xdg_data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _atomic_write(data: bytes, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def _targets(data_home: Path) -> list[tuple[Path, Path | None]]:
    """(where it goes, where it comes from) for every file; the entry is made from the template."""
    hicolor = data_home / "icons" / "hicolor"
    pairs: list[tuple[Path, Path | None]] = [(data_home / "applications" / "gptstudio.desktop", None)]
    pairs += [(hicolor / f"{n}x{n}" / "apps" / "gptstudio.png", ICONS / f"gptstudio-{n}.png") for n in SIZES]
    pairs.append((hicolor / "scalable" / "apps" / "gptstudio.svg", ICONS / "gptstudio.svg"))
    return pairs


def _launcher() -> Path:
    found = shutil.which("gptstudio-gui")
    return Path(found) if found else Path(sys.executable).parent / "gptstudio-gui"


def install(data_home: Path) -> list[Path]:
    """Write the desktop entry (pointing at the installed launcher) and the icons."""
    entry = TEMPLATE.read_text(encoding="utf-8").replace("@APPDIR@", str(_launcher().parent))
    written = []
    for target, source in _targets(data_home):
        _atomic_write(entry.encode("utf-8") if source is None else source.read_bytes(), target)
        written.append(target)
    return written


def remove(data_home: Path) -> list[Path]:
    removed = []
    for path, _source in _targets(data_home):
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
