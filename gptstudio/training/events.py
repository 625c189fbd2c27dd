"""The protocol between a training subprocess and whoever watches it (the Train dialog).

The dialog runs ``python -m gptstudio train --task ... --events FILE --control FILE`` as a
SUBPROCESS, so a crash in training never takes the editor down, and the dialog can be closed and
reopened while the run goes on: everything it needs is in files.

Run folder ``<user data>/training/<name>/`` (:func:`gptstudio.training.runs.run_folder`):

* ``settings.json`` — the run's settings; ``gptstudio train --settings FILE`` runs them again
  (``--resume`` continues the run);
* ``events.jsonl`` — the events below (the default ``--events`` file);
* ``checkpoints/last.pt`` — the last checkpoint (written atomically);
* ``previews/`` — the preview PNGs the ``preview`` events name.

Events: one JSON object per line, appended and flushed line by line, always with ``"event"`` and
``"time"`` (seconds since the epoch, float)::

    {"event":"data","images":N,"train":n,"val":m,"skipped":[[path,reason],...],
     "sizes":{"min":[w,h],"max":[w,h]}}
    {"event":"estimate","seconds_per_step":x,"total_seconds":y,"memory_bytes":z,
     "available_bytes":a,"device":"cpu|cuda","fits":bool,"warning":str|null}
    {"event":"step","step":i,"steps":N,"loss":x,"lr":x,"steps_per_second":x,"seconds_left":x}
    {"event":"preview","step":i,"images":[{"path":"...png","label":"...","psnr":float|null}]}
    {"event":"checkpoint","step":i,"path":"..."}
    {"event":"paused","step":i}
    {"event":"resumed","step":i}
    {"event":"done","model_id":"...","card":"path","seconds":x}
    {"event":"cancelled","step":i}
    {"event":"error","message":"..."}

``preview`` comes every N steps including step 0: before/after pairs with PSNR for restoration and
inpainting (labels ``"before"`` / ``"after"``; ``"target"`` with ``psnr`` null), samples of fixed
prompts and seed for a LoRA. ``seconds_left`` may be null (a run bounded by minutes only);
``seconds_per_step`` and ``total_seconds`` are null when the trial steps ran out of GPU memory
(then ``fits`` is false and ``warning`` says so). A ``step`` event also carries ``losses`` (every
loss the recipe logs, e.g. ``l1``, ``d``, ``adv``, ``fm`` for the inpainting GAN) and ``done``
carries ``validation`` (``base`` and ``final`` numbers); ``preview`` images may carry ``source``
(the picture's path in the folder).

Control file (``--control FILE``), read between steps; its whole content, stripped, is one word:

* ``run`` (or a missing/empty file): train;
* ``pause``: write a checkpoint, emit ``paused``, then poll the file until it says ``run``
  (emit ``resumed``) or ``cancel``;
* ``cancel``: write a checkpoint, emit ``cancelled`` and exit with status 3 (:data:`EXIT_CANCELLED`);
  ``--resume`` continues the run later.

Exit status: 0 done, 2 bad input (an ``error`` event says why), 3 cancelled, 1 anything else
(also reported as an ``error`` event when the process could still write it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

EXIT_CANCELLED = 3
CONTROL_WORDS = ("run", "pause", "cancel")


class Observer:
    """Hears what the loop does (only the first process): the event file, the progress bar, logs."""

    def step(
        self,
        step: int,
        steps: int | None,
        losses: dict[str, float],
        lr: float,
        rate: float,
        seconds_left: float | None,
    ) -> None: ...
    def checkpoint(self, step: int, path: Path) -> None: ...
    def validated(self, step: int, numbers: dict[str, float]) -> None: ...
    def preview(self, step: int, ema: Any) -> None: ...
    def paused(self, step: int) -> None: ...
    def resumed(self, step: int) -> None: ...
    def cancelled(self, step: int) -> None: ...
    def control(self) -> str:
        """ "run", "pause" or "cancel", read between steps (the GUI's control file)."""
        return "run"


class EventWriter(Observer):
    """Appends the protocol's JSON lines to a file, one flushed line per event.

    The file is opened in append mode for each event so a reader that tails it never sees a
    half-written line from a buffer, and a resumed run appends to the same history.
    """

    def __init__(self, path: Path | None, control_path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.control_path = Path(control_path) if control_path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "time": time.time(), **fields}
        if self.path is not None:
            line = json.dumps(record, ensure_ascii=False, default=_plain) + "\n"
            # Flushed, not fsynced: a reader on this machine sees the line at once through the page
            # cache, and a GPU doing 20 steps a second should not wait for the disk each time.
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
        return record

    # --- loop.Observer ---------------------------------------------------------------------------

    def step(
        self,
        step: int,
        steps: int | None,
        losses: dict[str, float],
        lr: float,
        rate: float,
        seconds_left: float | None,
    ) -> None:
        loss = losses.get("loss", next(iter(losses.values()), float("nan")))
        self.emit(
            "step",
            step=step,
            steps=steps,
            loss=loss,
            lr=lr,
            steps_per_second=rate,
            seconds_left=seconds_left,
            losses=losses,
        )

    def checkpoint(self, step: int, path: Path) -> None:
        self.emit("checkpoint", step=step, path=str(path))

    def paused(self, step: int) -> None:
        self.emit("paused", step=step)

    def resumed(self, step: int) -> None:
        self.emit("resumed", step=step)

    def cancelled(self, step: int) -> None:
        self.emit("cancelled", step=step)

    def control(self) -> str:
        return read_control(self.control_path)


def read_control(path: Path | None) -> str:
    """The control file's word; a missing, empty or unknown content means "run" (never stop a run
    because the dialog was half-way through writing the file)."""
    if path is None:
        return "run"
    try:
        word = path.read_text(encoding="utf-8").strip().lower()
    except OSError:
        return "run"
    return word if word in CONTROL_WORDS else "run"


def write_control(path: Path, word: str) -> None:
    """Set the control file (the dialog's side; atomic so the trainer never reads half a word)."""
    from gptstudio.core.atomic import atomic_write_bytes

    if word not in CONTROL_WORDS:
        raise ValueError(f"control word must be one of {CONTROL_WORDS}")
    atomic_write_bytes(path, word.encode())


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every complete event in the file (a last line still being written is left out)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines(keepends=True):
        if line.endswith("\n") and line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and paths."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)
