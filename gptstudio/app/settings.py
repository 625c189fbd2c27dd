"""Remembered settings (window state, recent files, tool options) in the user data folder.

QSettings is pointed at an INI file under :func:`gptstudio.core.paths.data_dir`, so a portable
install and every test (which sets ``GPTSTUDIO_DATA_DIR``) keep their settings to themselves.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from gptstudio.core.paths import data_dir

MAX_RECENT = 10


def settings() -> QSettings:
    return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)


def recent_files() -> list[str]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or []) if v]


def add_recent_file(path: str | Path) -> list[str]:
    """Put ``path`` first in the recent list (no duplicates, at most MAX_RECENT)."""
    p = str(Path(path).resolve())
    items = [p] + [f for f in recent_files() if f != p]
    items = items[:MAX_RECENT]
    s = settings()
    s.setValue("recent_files", items)
    s.sync()
    return items


def clear_recent_files() -> None:
    s = settings()
    s.setValue("recent_files", [])
    s.sync()


def remove_recent_file(path: str | Path) -> list[str]:
    """Drop a file that no longer opens from the recent list."""
    p = str(Path(path).resolve())
    items = [f for f in recent_files() if f != p]
    s = settings()
    s.setValue("recent_files", items)
    s.sync()
    return items
