"""Where user data lives: ``platformdirs.user_data_dir('gptstudio')``, or ``GPTSTUDIO_DATA_DIR``.

The override lets tests, portable installs and CI keep models, autosaves and checkpoints in a
folder of their choosing instead of the user's home.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_DATA_DIR = "GPTSTUDIO_DATA_DIR"


def data_dir() -> Path:
    """The root of everything this program stores for the user (created on demand)."""
    override = os.environ.get(ENV_DATA_DIR)
    root = Path(override) if override else Path(platformdirs.user_data_dir("gptstudio", appauthor=False))
    root.mkdir(parents=True, exist_ok=True)
    return root


def models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_dir() -> Path:
    path = data_dir() / "autosave"
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_dir() -> Path:
    path = data_dir() / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path
