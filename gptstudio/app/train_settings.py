"""What a training run is asked to do, as plain data: saved beside the run and loaded back.

The training dialog fills a :class:`TrainSettings`, the run controller turns it into the
``gptstudio train`` command line, and the same object is written to the run's ``settings.json`` so
a person can load it again (Load settings…, or the last run's settings offered when the dialog
opens). Qt-free so the round trip is tested without a window.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.paths import data_dir

#: The tasks a person can fine-tune, in the order the dialog lists them, with their labels.
TRAIN_TASKS: dict[str, str] = {
    "denoise": "Denoise",
    "restore": "Restore (JPEG, blur, noise)",
    "inpaint": "Inpaint",
    "lora": "Generate (LoRA from a prompt model)",
}
#: The registry task whose models a training task starts from.
BASE_TASK = {"denoise": "denoise", "restore": "restore", "inpaint": "inpaint", "lora": "generate"}
PRESETS: dict[str, str] = {
    "quick": "Quick — a first look in minutes",
    "balanced": "Balanced — the usual choice",
    "best": "Best — longest, highest quality",
}

#: The few settings that matter per task: option name -> (command-line flag, default). Everything
#: else comes from the preset, so the dialog shows only these.
TASK_OPTIONS: dict[str, dict[str, tuple[str, Any]]] = {
    "denoise": {"noise": ("--noise", "gaussian"), "noise_strength": ("--noise-strength", 25.0)},
    "restore": {"noise_strength": ("--noise-strength", 10.0), "jpeg_quality": ("--jpeg-quality", 30)},
    "inpaint": {},
    "lora": {"trigger": ("--trigger", ""), "captions": ("--captions", True)},
}

SETTINGS_FILE = "settings.json"
EVENTS_FILE = "events.jsonl"
CONTROL_FILE = "control"
LOG_FILE = "trainer.log"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def training_root() -> Path:
    """``<user data>/training``: one folder per run, named by the run."""
    path = data_dir() / "training"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class TrainSettings:
    task: str = "denoise"
    data: str = ""
    base: str = ""
    preset: str = "balanced"
    #: 0 = the preset's number of steps.
    steps: int = 0
    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def run_dir(self) -> Path:
        return training_root() / self.name

    def check(self) -> None:
        """Raise :class:`InvalidRequestError` with a message a person can act on."""
        if self.task not in TRAIN_TASKS:
            raise InvalidRequestError(f"Unknown training task '{self.task}'.")
        if not self.data:
            raise InvalidRequestError("Choose the folder of images to train on.")
        if not Path(self.data).is_dir():
            raise InvalidRequestError(f"The folder {self.data} does not exist.")
        if not self.base:
            raise InvalidRequestError("No model to start from is installed for this task.")
        if self.preset not in PRESETS:
            raise InvalidRequestError(f"Unknown preset '{self.preset}'. Use quick, balanced or best.")
        if not _NAME.match(self.name or ""):
            raise InvalidRequestError(
                "Give the new model a name: letters, digits, '.', '_' or '-', starting with a letter "
                "or digit (it names the run folder and the model)."
            )

    def task_options(self) -> dict[str, Any]:
        """This task's settings, defaults filled in, others dropped."""
        known = TASK_OPTIONS.get(self.task, {})
        return {key: self.options.get(key, default) for key, (_flag, default) in known.items()}

    def arguments(self, events: Path, control: Path, resume: bool = False) -> list[str]:
        """The ``gptstudio train`` arguments (after the program) for this run."""
        args = ["train", "--task", self.task, "--data", self.data, "--base", self.base]
        args += ["--preset", self.preset]
        if self.steps > 0:
            args += ["--steps", str(self.steps)]
        args += ["--name", self.name, "--events", str(events), "--control", str(control)]
        if resume:
            args.append("--resume")
        flags = TASK_OPTIONS.get(self.task, {})
        for key, value in self.task_options().items():
            flag = flags[key][0]
            if isinstance(value, bool):
                if value:
                    args.append(flag)
            elif value != "":
                args += [flag, str(value)]
        return args

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = self.task_options()
        return data

    @classmethod
    def from_json(cls, data: object) -> TrainSettings:
        """Tolerant of missing keys (older files) but not of the wrong types."""
        if not isinstance(data, dict):
            raise InvalidRequestError("This is not a training settings file.")
        try:
            return cls(
                task=str(data.get("task", "denoise")),
                data=str(data.get("data", "")),
                base=str(data.get("base", "") or ""),
                preset=str(data.get("preset", "balanced")),
                steps=int(data.get("steps", 0) or 0),
                name=str(data.get("name", "")),
                options=dict(data.get("options", {}) or {}),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"This training settings file is damaged: {exc}.") from exc

    def save(self, path: str | Path) -> None:
        text = json.dumps(self.to_json(), indent=2) + "\n"
        atomic_write_bytes(path, text.encode("utf-8"))


def load_settings(path: str | Path) -> TrainSettings:
    """Read a settings file (a run's ``settings.json`` or one saved elsewhere)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRequestError(f"Could not read {path}: {exc.strerror or exc}.") from exc
    except ValueError as exc:
        raise InvalidRequestError(f"{path} is not a training settings file (not JSON).") from exc
    return TrainSettings.from_json(data)


def last_run_settings() -> TrainSettings | None:
    """The settings of the most recently started run, or None when there is none (or it is damaged)."""
    files = [p for p in training_root().glob(f"*/{SETTINGS_FILE}") if p.is_file()]
    for path in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            return load_settings(path)
        except InvalidRequestError:
            continue
    return None
