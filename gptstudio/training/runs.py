"""Run folders and settings of fine-tunes: ``<user data>/training/<name>/``.

One folder per named run holds everything about it (see ``gptstudio.training.events`` for the
layout), so a run can be resumed, its settings reloaded, and the Train dialog reopened on it, from
files alone. ``settings.json`` is written atomically; it is what ``--settings FILE`` reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from gptstudio.core import paths
from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import InvalidRequestError
from gptstudio.models.store import check_id, slug
from gptstudio.training.presets import DAMAGE_PRESETS, PRESET_NAMES, family, preset


@dataclass
class Settings:
    """Everything that defines a fine-tune; the preset fills steps/crop/batch/lr left as None."""

    task: str
    data: str
    name: str
    base: str | None = None
    preset: str = "balanced"
    steps: int | None = None
    crop: int | None = None
    batch: int | None = None
    lr: float | None = None
    warmup: int | None = None
    damaged: str | None = None
    damage: str = "mixed"
    trigger: str | None = None
    prompts: list[str] | None = None
    seed: int = 0
    precision: str = "auto"
    accumulate: int = 1
    preview_every: int | None = None
    checkpoint_every: int | None = None
    device: str | None = None

    def resolved(self) -> Settings:
        """A copy with the preset's numbers filled in and every choice checked."""
        family(self.task)
        if self.preset not in PRESET_NAMES:
            raise InvalidRequestError(
                f"Unknown preset '{self.preset}'. Use one of: {', '.join(PRESET_NAMES)}."
            )
        if self.damage not in DAMAGE_PRESETS:
            raise InvalidRequestError(
                f"Unknown damage preset '{self.damage}'. Use one of: {', '.join(DAMAGE_PRESETS)}."
            )
        p = preset(self.task, self.preset)
        out = Settings(**asdict(self))
        out.steps = self.steps or p.steps
        out.crop = self.crop or p.crop
        out.batch = self.batch or p.batch
        out.lr = self.lr or p.lr
        out.warmup = self.warmup if self.warmup is not None else min(p.warmup, max(1, out.steps // 10))
        out.preview_every = self.preview_every or max(1, out.steps // 10)
        out.checkpoint_every = self.checkpoint_every or max(1, min(out.steps // 5, 250))
        if out.steps < 1 or out.batch < 1 or out.crop < 16:
            raise InvalidRequestError("Steps and batch must be at least 1, and the crop at least 16 px.")
        model_id(self.name)
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidRequestError(f"Unknown settings in the settings file: {', '.join(unknown)}.")
        try:
            return cls(**data)
        except TypeError as exc:
            raise InvalidRequestError(f"The settings file is incomplete: {exc}.") from exc


def model_id(name: str) -> str:
    """The store id a run named ``name`` installs its model under."""
    mid = slug(name)
    check_id(mid)
    return mid


def training_dir() -> Path:
    path = paths.data_dir() / "training"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_folder(name: str) -> Path:
    """``<user data>/training/<id>/`` with its checkpoints/ and previews/ folders."""
    folder = training_dir() / model_id(name)
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    (folder / "previews").mkdir(parents=True, exist_ok=True)
    return folder


def save_settings(settings: Settings, path: Path) -> None:
    atomic_write_bytes(path, json.dumps(settings.to_json(), indent=2).encode())


def load_settings(path: Path) -> Settings:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidRequestError(f"The settings file {path} does not exist.") from None
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(f"The settings file {path} cannot be read: {exc}.") from exc
    if not isinstance(data, dict):
        raise InvalidRequestError(f"The settings file {path} is not a JSON object.")
    return Settings.from_json(data)
