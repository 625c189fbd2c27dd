"""The training run behind Tools > Train…: a ``gptstudio train`` process, watched from the window.

The run belongs to the main window, not to the dialog, so closing the dialog changes nothing and
reopening it draws the same curve from :attr:`TrainingRun.state`.

Why a plain :class:`subprocess.Popen` rather than a ``QProcess``: both keep a crash in training out
of the editor, but a ``QProcess`` kills its child when it is destroyed, and a person closing the
editor may keep a long run going ("keep running"). The child gets its own session (process group
on Windows), its output goes to ``trainer.log`` in the run folder, and a timer on the GUI thread
polls it: ``Popen.poll`` never blocks, and the event file is read a bounded chunk at a time
(:class:`~gptstudio.app.train_events.EventTail`). The trainer obeys the control file, written
atomically: ``run``, ``pause`` or ``cancel`` (it checkpoints on pause and cancel); Resume after a
cancel or a crash starts it again with ``--resume``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from gptstudio.app.train_events import ENDED, LIVE, EventTail, RunState, read_all
from gptstudio.app.train_settings import (
    CHECKPOINTS,
    CONTROL_FILE,
    EVENTS_FILE,
    LOG_FILE,
    SETTINGS_FILE,
    Settings,
    arguments,
    check,
    load_settings,
    run_dir,
    save_settings,
)
from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import GptStudioError, InvalidRequestError

POLL_MS = 250
#: Lower priority for the trainer, so the editor stays quick to answer while it runs.
TRAINER_NICE = 5
PID_FILE = "trainer.pid"


class TrainingFailed(GptStudioError):
    """The trainer reported an error or stopped without finishing."""

    title = "Training failed"


def trainer_command(arguments: list[str]) -> list[str]:
    """The program and arguments that run ``gptstudio`` + ``arguments`` as a child process.

    From a pip install that is this Python with ``-m gptstudio``. In the double-click bundle
    ``sys.executable`` is the windowed editor itself, which takes no commands; the bundle's
    command-line program ``gptstudio`` sits beside it (packaging/gptstudio.spec), so that runs.
    """
    if getattr(sys, "frozen", False):
        here = Path(sys.executable).parent
        cli = here / ("gptstudio.exe" if sys.platform == "win32" else "gptstudio")
        return [str(cli), *arguments]
    return [sys.executable, "-m", "gptstudio", *arguments]


def _spawn(command: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    kwargs: dict[str, object] = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
    else:
        kwargs["start_new_session"] = True  # outlives the editor when the person keeps it running
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            **kwargs,
        )
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, proc.pid, TRAINER_NICE)
    return proc


class Detached:
    """A trainer an earlier session of the editor left running ("Keep running"): watched by its
    process id, as :class:`subprocess.Popen` would be, except that its exit code is unknown."""

    UNKNOWN = -1

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        return None if pid_alive(self.pid) else self.UNKNOWN


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` alive? POSIX only: on Windows ``os.kill`` would end it, so no."""
    if sys.platform == "win32" or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie (ended, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _log_tail(path: Path, lines: int = 12) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 8192))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class TrainingRun(QObject):
    """One training run at a time per window: start, pause, resume, cancel, watch."""

    #: The state changed (new events, a new status); the dialog redraws from :attr:`state`.
    changed = Signal()
    #: A run finished: "done", "cancelled" or "failed".
    ended = Signal(str)
    #: A new model was registered (its id): the window refreshes its model lists.
    model_ready = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings: Settings | None = None
        self.state = RunState()
        self.process: subprocess.Popen[bytes] | Detached | None = None
        self.detached = False
        #: The last command line started (the tests check ``--resume`` on it).
        self.command: list[str] = []
        self._tail: EventTail | None = None
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)

    # --- what is going on ----------------------------------------------------------------------------

    def running(self) -> bool:
        """True while a trainer process of this window is alive."""
        return self.process is not None and self.process.poll() is None

    def run_dir(self) -> Path | None:
        return run_dir(self.settings) if self.settings else None

    def can_resume(self) -> bool:
        """A stopped run that left a checkpoint continues where it was (Resume)."""
        if self.running() or self.settings is None or self.state.status not in ("cancelled", "failed"):
            return False
        checkpoints = run_dir(self.settings) / CHECKPOINTS
        return bool(self.state.checkpoint) or (checkpoints.is_dir() and any(checkpoints.iterdir()))

    # --- starting --------------------------------------------------------------------------------------

    def start(self, settings: Settings, resume: bool = False) -> None:
        """Start ``gptstudio train`` for ``settings`` (raises a :class:`GptStudioError` when it cannot)."""
        if self.running():
            raise InvalidRequestError("A training run is already going: pause or cancel it first.")
        check(settings)
        run = run_dir(settings)
        try:
            run.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidRequestError(f"Cannot create the run folder {run}: {exc.strerror or exc}.") from exc
        events, control = run / EVENTS_FILE, run / CONTROL_FILE
        save_settings(settings, run / SETTINGS_FILE)  # the trainer writes it too, the same way
        atomic_write_bytes(control, b"run")
        if resume and self.settings is not None and self.settings.name == settings.name:
            self.state.status, self.state.error = "resuming", None  # the curve so far stays
        elif resume:  # a run of an earlier session: what it did so far is in its event file
            self.state = read_all(events)
            self.state.status, self.state.error = "resuming", None
        else:
            events.unlink(missing_ok=True)
            self.state = RunState(status="starting")
        self.settings = settings
        self._tail = EventTail(events)
        if resume:
            self._tail.offset = events.stat().st_size if events.exists() else 0
        command = trainer_command(arguments(settings, events, control, resume))
        self.command = command
        try:
            self.process = _spawn(command, run, run / LOG_FILE)
        except OSError as exc:
            self.state.status = "failed"
            self.state.error = f"Could not start the trainer: {exc.strerror or exc}."
            self.changed.emit()
            raise GptStudioError(self.state.error) from exc
        with contextlib.suppress(GptStudioError):  # only re-attaching a kept run needs it
            atomic_write_bytes(run / PID_FILE, str(self.process.pid).encode())
        self.detached = False
        self._timer.start()
        self.changed.emit()

    def attach(self, folder: Path) -> bool:
        """Watch a run an earlier session kept running, if its trainer is still alive."""
        if self.running():
            return False
        try:
            pid = int((folder / PID_FILE).read_text().strip())
            settings = load_settings(folder / SETTINGS_FILE)
        except (OSError, ValueError, GptStudioError):
            return False
        events = folder / EVENTS_FILE
        state = read_all(events)
        if state.status in ENDED or not pid_alive(pid):
            return False
        self.settings, self.state = settings, state
        self.process = Detached(pid)
        self._tail = EventTail(events)
        self._tail.offset = events.stat().st_size if events.exists() else 0
        self.detached = False  # watched again: closing the editor asks again
        self._timer.start()
        self.changed.emit()
        return True

    def resume(self) -> None:
        """Paused: carry on. Cancelled or crashed: start again from the last checkpoint."""
        if self.state.status == "paused" and self.running():
            self._control(b"run")
            self.state.status = "resuming"
            self.changed.emit()
        elif self.settings is not None and self.can_resume():
            self.start(self.settings, resume=True)

    def pause(self) -> None:
        if self.running() and self.state.status in ("starting", "running", "resuming"):
            self._control(b"pause")
            self.state.status = "pausing"
            self.changed.emit()

    def cancel(self) -> None:
        """Ask the trainer to checkpoint and stop (Resume continues from there)."""
        if self.running() and self.state.status not in ENDED:
            self._control(b"cancel")
            self.state.status = "stopping"
            self.changed.emit()

    def _control(self, word: bytes) -> None:
        run = self.run_dir()
        if run is not None:
            atomic_write_bytes(run / CONTROL_FILE, word)

    # --- watching --------------------------------------------------------------------------------------

    def poll(self) -> None:
        """Read what the trainer wrote since the last poll; notice when it has exited."""
        before = self.state.status
        new = self._read()
        proc = self.process
        code = proc.poll() if proc is not None else None
        if proc is not None and code is not None and not (self._tail and self._tail.more()):
            self._timer.stop()
            self.process = None
            self._exited(code)
            return
        if new or self.state.status != before:
            self.changed.emit()

    def _read(self) -> int:
        if self._tail is None:
            return 0
        events = self._tail.read()
        for event in events:
            self.state.apply(event)
            if event.get("event") == "done" and event.get("model_id"):
                self._registered(str(event["model_id"]))
        return len(events)

    def _exited(self, code: int) -> None:
        state = self.state
        if state.status in LIVE or state.status == "idle":
            state.status = "failed"
            run = self.run_dir()
            log = _log_tail(run / LOG_FILE) if run else ""
            how = "exit code unknown" if code == Detached.UNKNOWN else f"exit code {code}"
            state.error = f"The trainer stopped unexpectedly ({how})." + (
                f"\n\nIts last output:\n{log}" if log else ""
            )
        self.changed.emit()
        self.ended.emit(state.status)

    def _registered(self, model_id: str) -> None:
        from gptstudio.models import registry

        registry.refresh()  # re-reads the store's model.json files: small, once per run
        self.model_ready.emit(model_id)

    # --- closing -------------------------------------------------------------------------------------

    def confirm_stop(self, parent: QWidget) -> bool:
        """The editor is closing during a run: stop it (resumable), keep it running, or stay."""
        if not self.running():
            return True
        box = QMessageBox(parent)
        box.setObjectName("stopTraining")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Training running")
        box.setText("A training run is going. Stop it, or keep it running after GPT Studio closes?")
        box.setInformativeText(
            "Stop writes a checkpoint: Tools > Train… > Resume continues it later. A run kept going "
            "finishes on its own and its model appears in the lists at the next start."
        )
        stop = box.addButton("Stop training", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        if clicked is keep:
            self.detach()
        elif clicked is stop:
            self.cancel()
        return clicked in (keep, stop)

    def detach(self) -> None:
        """Leave the trainer running on its own after the editor closes (its folder has it all)."""
        self.detached = True
        self._timer.stop()
        self.process = None

    def shutdown(self, grace_s: float = 5.0) -> bool:
        """The window closes: unless the person kept it running, ask the trainer to checkpoint and
        stop, and give it ``grace_s`` to do so. It is never killed — a trainer still writing its
        checkpoint finishes on its own. Returns False if it was still running when we left."""
        self._timer.stop()
        proc = self.process
        if proc is None or self.detached:
            return True
        if proc.poll() is None:
            self._control(b"cancel")
            deadline = time.monotonic() + grace_s
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        self._read()
        self.process = None
        return proc.poll() is not None
