"""What a training run is asked to do, as the trainer itself defines it, and where its files are.

The dialog edits a :class:`gptstudio.training.runs.Settings` — the same object ``gptstudio train``
writes to the run's ``settings.json`` and reads back with ``--settings`` — so a file saved from
the dialog runs on the command line and a run started on the command line loads in the dialog.
This module adds what the dialog needs on top: the run folder's files, the command line for the
child process, a check of the folder before anything starts, and the last run's settings.
Qt-free and torch-free (the tables come from :mod:`gptstudio.training.presets`).
"""

from __future__ import annotations

from pathlib import Path

from gptstudio.core.errors import GptStudioError, InvalidRequestError
from gptstudio.models.store import Store
from gptstudio.training import runs
from gptstudio.training.presets import DAMAGE_PRESETS, FINETUNE_TASKS, PRESET_NAMES, TASK_SETTINGS
from gptstudio.training.runs import Settings

_TASK_LABELS = {
    "denoise": "Denoise",
    "restore": "Restore (JPEG, blur, noise)",
    "inpaint": "Inpaint",
    "generate": "Generate (a LoRA for a prompt model)",
}
_PRESET_LABELS = {
    "quick": "Quick — a first look in minutes",
    "balanced": "Balanced — the usual choice",
    "best": "Best — longest, highest quality",
}
#: The tasks ``gptstudio train`` fine-tunes, with the dialog's labels.
TRAIN_TASKS = {task: _TASK_LABELS.get(task, task.capitalize()) for task in FINETUNE_TASKS}
PRESET_LABELS = {name: _PRESET_LABELS.get(name, name.capitalize()) for name in PRESET_NAMES}
DAMAGE_LABELS = {name: f"{name.capitalize()}: {p.description}" for name, p in DAMAGE_PRESETS.items()}

SETTINGS_FILE = "settings.json"
EVENTS_FILE = "events.jsonl"
CONTROL_FILE = "control"
LOG_FILE = "trainer.log"
CHECKPOINTS = "checkpoints"


def training_root() -> Path:
    """``<user data>/training``: one folder per run."""
    return runs.training_dir()


def run_dir(settings: Settings) -> Path:
    """The run's folder (named by the model id the run's name makes, as the trainer names it)."""
    return training_root() / runs.model_id(settings.name)


def shown_settings(task: str) -> tuple[str, ...]:
    """The task's own settings the dialog shows (the rest come from the preset)."""
    return tuple(TASK_SETTINGS.get(task, {}))


def check(settings: Settings) -> None:
    """Raise :class:`InvalidRequestError` with a message a person can act on, before starting."""
    if not settings.data:
        raise InvalidRequestError("Choose the folder of images to train on.")
    if not Path(settings.data).is_dir():
        raise InvalidRequestError(f"The folder {settings.data} does not exist.")
    if settings.damaged and not Path(settings.damaged).is_dir():
        raise InvalidRequestError(f"The folder of damaged copies {settings.damaged} does not exist.")
    if not settings.name.strip():
        raise InvalidRequestError("Give the new model a name (it names the model and its run folder).")
    try:
        settings.resolved()  # the trainer's own checks: task, preset, damage, a usable model id
    except GptStudioError as exc:
        raise InvalidRequestError(exc.message) from exc
    store, mid = Store(), runs.model_id(settings.name)
    # as the trainer decides (training.register, which needs torch): a fine-tune may replace an
    # earlier fine-tune of its name, never a downloaded or imported model
    if store.has(mid) and "card" not in store.get(mid).extra:
        raise InvalidRequestError(f"A model named '{mid}' is already installed: choose another name.")


def arguments(settings: Settings, events: Path, control: Path, resume: bool = False) -> list[str]:
    """The ``gptstudio train`` arguments (after the program) for ``settings``."""
    s = settings
    args = ["train", "--task", s.task, "--data", s.data, "--name", s.name]
    if s.base:
        args += ["--base", s.base]
    args += ["--preset", s.preset]
    if s.steps:
        args += ["--steps", str(s.steps)]
    shown = shown_settings(s.task)
    if "damage" in shown:
        args += ["--damage", s.damage]
        if s.damaged:
            args += ["--damaged", s.damaged]
    if "trigger" in shown and s.trigger:
        args += ["--trigger", s.trigger]
    args += ["--events", str(events), "--control", str(control)]
    if resume:
        args.append("--resume")
    return args


def save_settings(settings: Settings, path: str | Path) -> None:
    runs.save_settings(settings, Path(path))


def load_settings(path: str | Path) -> Settings:
    """Read a settings file (a run's ``settings.json`` or one saved from the dialog)."""
    return runs.load_settings(Path(path))


def latest_runs() -> list[Path]:
    """Run folders, the most recently started first (by their settings file)."""
    files = [p for p in training_root().glob(f"*/{SETTINGS_FILE}") if p.is_file()]
    return [p.parent for p in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)]


def last_run_settings() -> Settings | None:
    """The settings of the most recently started run; None when there is none readable."""
    for folder in latest_runs():
        try:
            return load_settings(folder / SETTINGS_FILE)
        except InvalidRequestError:
            continue
    return None
