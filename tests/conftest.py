"""Shared fixtures: every test runs with its own user-data folder and offscreen Qt."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The same numbers on every CI machine, with or without bf16 units: fp32 unless a test asks for bf16.
os.environ.setdefault("GPTSTUDIO_CPU_BF16", "0")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep models, autosaves and checkpoints of a test out of the real user folder."""
    monkeypatch.setenv("GPTSTUDIO_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    """Each test sees a registry over its own store, with nothing another test registered."""
    from gptstudio.models import registry

    registry.set_default(None)
    yield
    registry.set_default(None)
