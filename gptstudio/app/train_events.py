"""A training run as the dialog sees it: the trainer's event file, read as it grows, folded into
one state.

The trainer (a separate process) appends one JSON object per line to ``events.jsonl``. The GUI
reads only the new bytes on each poll (:class:`EventTail`) and folds them into a
:class:`RunState`, which is all the dialog needs to draw itself — so a dialog closed and reopened
mid-run, or a run the editor re-attaches to, shows the same curve and previews. Qt-free: the state
is plain data, tested without a window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A poll reads at most this much, so a long file (a re-attached run) never stalls the GUI thread.
MAX_READ = 256 * 1024

#: Statuses in which the trainer process should be alive.
LIVE = frozenset({"starting", "running", "pausing", "paused", "resuming", "stopping"})
#: Statuses a run ends in.
ENDED = frozenset({"done", "cancelled", "failed"})


class EventTail:
    """Reads complete new lines from a growing file; a partly written last line waits for the rest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # the file was started again: read it from the top
            self.offset, self._partial = 0, b""
        if size == self.offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(MAX_READ)
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        events = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not an event (a stray print): the trainer's log has it
            if isinstance(event, dict) and "event" in event:
                events.append(event)
        return events

    def more(self) -> bool:
        """True while bytes are left to read (a long file takes several polls)."""
        try:
            return self.path.stat().st_size > self.offset
        except OSError:
            return False


@dataclass
class RunState:
    status: str = "idle"
    data: dict[str, Any] | None = None
    estimate: dict[str, Any] | None = None
    #: step -> loss; a dict so an event read twice (a resumed run repeats a few) draws once.
    losses: dict[int, float] = field(default_factory=dict)
    step: int = 0
    steps: int = 0
    steps_per_second: float = 0.0
    seconds_left: float | None = None
    #: step -> the preview images of that step ({"path", "label", "psnr"}).
    previews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    checkpoint: str | None = None
    model_id: str | None = None
    card: str | None = None
    seconds: float | None = None
    #: The done event's numbers: {"base": {...}, "final": {...}} (e.g. val_psnr of each).
    validation: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "data":
            self.data = event
        elif kind == "estimate":
            self.estimate = event
        elif kind == "step":
            self.step = int(event.get("step", self.step))
            self.steps = int(event.get("steps", self.steps) or self.steps)
            loss = event.get("loss")
            if isinstance(loss, (int, float)):
                self.losses[self.step] = float(loss)
            self.steps_per_second = float(event.get("steps_per_second") or 0.0)
            left = event.get("seconds_left")
            self.seconds_left = float(left) if isinstance(left, (int, float)) else None
            if self.status in ("starting", "resuming"):
                self.status = "running"
        elif kind == "preview":
            self.previews[int(event.get("step", 0))] = list(event.get("images") or [])
            if self.status == "starting":
                self.status = "running"
        elif kind == "checkpoint":
            self.checkpoint = str(event.get("path") or "")
        elif kind == "paused":
            self.status = "paused"
        elif kind == "resumed":
            self.status = "running"
        elif kind == "done":
            self.status = "done"
            self.model_id = event.get("model_id")
            self.card = event.get("card")
            self.seconds = event.get("seconds")
            self.validation = event.get("validation") or {}
        elif kind == "cancelled":
            self.status = "cancelled"
        elif kind == "error":
            self.status = "failed"
            self.error = str(event.get("message") or "The training stopped with an error.")

    def psnr_change(self) -> tuple[float, float] | None:
        """Validation PSNR of the base model and of the new one, when the run measured both."""
        base, final = self.validation.get("base") or {}, self.validation.get("final") or {}
        a, b = base.get("val_psnr"), final.get("val_psnr")
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return float(a), float(b)
        return None

    def last_loss(self) -> float | None:
        if not self.losses:
            return None
        return self.losses[max(self.losses)]

    def curve(self) -> tuple[list[int], list[float]]:
        steps = sorted(self.losses)
        return steps, [self.losses[s] for s in steps]


def read_all(path: Path) -> RunState:
    """The state a finished (or detached) run's event file describes, read to the end."""
    state = RunState(status="starting")
    tail = EventTail(path)
    while True:
        events = tail.read()
        for event in events:
            state.apply(event)
        if not tail.more():
            return state


def format_seconds(seconds: float | None) -> str:
    """'1 h 05 min', '4 min 12 s', '35 s' — what a person reads at a glance."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def format_bytes(n: float | None) -> str:
    if not n:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GB"
