"""One run of a batch, whatever executes it: checks, plan, seed, manifest, counts, progress, summary.

The local runner and the Ray backend differ only in how files reach the model; everything a user
sees — which files are skipped as done, the run/file/end records, the progress line with time
left, the summary — comes from here, so the two paths cannot drift apart.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gptstudio.batch.discovery import MANIFEST_NAME, PlannedFile, plan
from gptstudio.batch.manifest import DONE, FAILED, SKIPPED, ManifestIndex, ManifestWriter, read_manifest
from gptstudio.batch.options import (
    MODEL_FREE_TASKS,
    SEEDED_TASKS,
    BatchOptions,
    check_options,
    options_key,
    task_settings,
)
from gptstudio.batch.work import BatchContext
from gptstudio.core.progress import TaskState

if TYPE_CHECKING:
    from gptstudio.engines.base import EngineInfo

#: ``on_record(record)``: called (from the batch's threads) after each file's record is written.
RecordCallback = Callable[[dict[str, Any]], None]

#: Unfinished atomic writes: ``.<name>.<8 hex>.tmp`` beside the target (see core.atomic).
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.tmp$")


@dataclass
class BatchSummary:
    """What a finished (or stopped) batch did, for the summary line, the exit code and the dialog."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    not_started: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    #: Input megapixels of the files done in this run.
    megapixels: float = 0.0
    model: str = ""
    seed: int | None = None
    manifest: Path | None = None
    backend: str = "local"
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def files_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def megapixels_per_second(self) -> float:
        return self.megapixels / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """``done 12, skipped 3, failed 1 in 14.2 s (0.85 files/s, 0.83 MP/s)``, plus a stop note."""
        text = (
            f"done {self.done}, skipped {self.skipped}, failed {self.failed} "
            f"in {format_seconds(self.seconds)} "
            f"({self.files_per_second:.2f} files/s, {self.megapixels_per_second:.2f} MP/s)"
        )
        if self.cancelled:
            text += f"; stopped early, {self.not_started} not started (run again to resume)"
        return text


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Session:
    """Set up a run (raises clear errors before any file is touched) and keep its books."""

    def __init__(
        self,
        options: BatchOptions,
        state: TaskState | None = None,
        on_record: RecordCallback | None = None,
        *,
        backend: str = "local",
        load_model: bool = True,
    ) -> None:
        from gptstudio.models import registry
        from gptstudio.tasks.common import resolve_engine

        check_options(options)
        self.started = time.perf_counter()
        self.options = options
        self.state = state or TaskState()
        self.on_record = on_record
        model = options.model or _variation_model(options.task)
        if options.task in MODEL_FREE_TASKS:  # adjustments: arithmetic, nothing to load
            from gptstudio.tasks.adjust import INFO as info

            self.device = "cpu"
        elif load_model:  # loaded once here; the registry's cache hands the same engine to every file
            _engine, info, self.device = resolve_engine(options.task, model, options.device)
        else:  # the model loads where it runs (a Ray actor); still fail early on a wrong model
            info = registry.info(model or registry.default_model(options.task))
            if options.task not in info.tasks:
                from gptstudio.core.errors import ModelError

                raise ModelError(
                    f"The model '{info.id}' cannot {options.task}; it does: {', '.join(info.tasks)}."
                )
            self.device = options.device or "auto"
        if options.task == "generate" and "variation" not in info.uses:
            from gptstudio.core.errors import ModelError

            raise ModelError(
                f"The model '{info.id}' makes new pictures but cannot vary one, which is what a batch "
                "does with each picture; choose a model that can vary a picture."
            )
        self.info = info
        self.manifest_path = options.output_dir / MANIFEST_NAME
        self.index: ManifestIndex = read_manifest(self.manifest_path)
        seed = self._seed()
        self.ctx = BatchContext(
            options=options,
            model_id=info.id,
            seed=seed,
            key=options_key(options, info.id, seed),
            run_id=uuid.uuid4().hex[:12],
        )
        self.items: list[PlannedFile] = plan(options, self.index.outputs)
        self.summary = BatchSummary(
            total=len(self.items), model=info.id, seed=seed, manifest=self.manifest_path, backend=backend
        )
        self._lock = threading.Lock()
        self._finished = 0
        self._ran = 0
        self._first_run_start: float | None = None
        _remove_stale_temps(self.items)
        self.writer = ManifestWriter(self.manifest_path)
        self.writer.append(
            {
                "kind": "run",
                "run": self.ctx.run_id,
                "backend": backend,
                "task": options.task,
                "model": info.id,
                "device": self.device,
                "seed": seed,
                "settings": task_settings(options, seed),
                "options_key": self.ctx.key,
                "base_key": options_key(options, info.id, None),
                "input_dir": str(options.input_dir),
                "files": len(self.items),
            }
        )

    def _seed(self) -> int | None:
        """One seed for the whole batch: the user's, else the one a previous run of it used."""
        o = self.options
        if o.task not in SEEDED_TASKS:
            return None
        if o.seed is not None:
            return o.seed
        previous = self.index.seed_for(options_key(o, self.info.id, None))
        return previous if previous is not None else random.SystemRandom().randrange(0, 2**31 - 1)

    # --- the books --------------------------------------------------------------------------------

    def previous(self, item: PlannedFile) -> dict[str, Any] | None:
        return self.index.done.get(item.rel)

    def file_started(self) -> None:
        with self._lock:
            if self._first_run_start is None:
                self._first_run_start = time.perf_counter()

    def exclude_pause(self, seconds: float) -> None:
        """Leave a pause out of the pace (the time-left estimate), as if the files ran later."""
        with self._lock:
            if self._first_run_start is not None:
                self._first_run_start += seconds

    def finish(self, record: dict[str, Any]) -> None:
        """Count one file's record, append it to the manifest, tell the listeners."""
        status = record["status"]
        self.writer.append(record, durable=status != SKIPPED)
        with self._lock:
            self._finished += 1
            s = self.summary
            if status == DONE:
                s.done += 1
                s.megapixels += float(record.get("megapixels") or 0.0)
                self._ran += 1
            elif status == FAILED:
                s.failed += 1
                s.failures.append((record["path"], record.get("reason", "")))
            else:
                s.skipped += 1
            finished = self._finished
        if self.on_record is not None:
            self.on_record(record)
        self.report(finished, record["path"])

    def report(self, finished: int, current: str, within: float = 0.0) -> None:
        """Overall fraction plus ``[n/total] file — about T left`` on the state's callback.

        The callback is called directly rather than through ``state.report``: after a cancel the
        batch still reports the files it finishes, where ``report`` would raise.
        """
        callback = self.state.callback
        if callback is None:
            return
        total = max(self.summary.total, 1)
        message = f"[{min(finished + 1, total)}/{total}] {current}"
        left = self.time_left(finished)
        if left is not None:
            message += f" — about {format_seconds(left)} left"
        callback(min((finished + within) / total, 1.0), message)

    def time_left(self, finished: int) -> float | None:
        """Seconds left at the pace of the files run so far (skips are quick and not counted)."""
        with self._lock:
            ran, start = self._ran, self._first_run_start
        if not ran or start is None:
            return None
        pace = (time.perf_counter() - start) / ran
        return pace * max(self.summary.total - finished, 0)

    @property
    def stopping(self) -> bool:
        return self.state.token.cancelled

    def close(self, *, cancelled: bool) -> BatchSummary:
        """Write the end record and return the summary."""
        s = self.summary
        s.seconds = time.perf_counter() - self.started
        s.not_started = max(s.total - s.done - s.skipped - s.failed, 0)
        s.cancelled = cancelled or s.not_started > 0
        try:
            self.writer.append(
                {
                    "kind": "end",
                    "run": self.ctx.run_id,
                    "status": "cancelled" if s.cancelled else "finished",
                    "done": s.done,
                    "skipped": s.skipped,
                    "failed": s.failed,
                    "not_started": s.not_started,
                    "seconds": round(s.seconds, 3),
                    "megapixels": round(s.megapixels, 4),
                }
            )
        finally:
            self.writer.close()
        return s


def _remove_stale_temps(items: list[PlannedFile]) -> None:
    """Delete unfinished writes a killed run left beside this batch's outputs (only those)."""
    by_dir: dict[Path, set[str]] = {}
    for item in items:
        by_dir.setdefault(item.output.parent, set()).add(item.output.name)
    for directory, names in by_dir.items():
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            m = _TEMP_NAME.match(entry)
            if m and m.group("name") in names:
                try:
                    (directory / entry).unlink()
                except OSError:
                    pass


def batch_models(task: str) -> list[EngineInfo]:
    """The installed models a batch of ``task`` can use, best first. A batch generate varies each
    picture, so only models that can vary one (the generate task's own list also has models that
    only make new pictures); the Batch dialog offers the same list."""
    from gptstudio.models import registry

    models = registry.models_for(task)
    return [i for i in models if "variation" in i.uses] if task == "generate" else models


def _variation_model(task: str) -> str | None:
    """For a batch generate with no model named: the best installed model that can vary a picture."""
    if task != "generate":
        return None
    return next((i.id for i in batch_models(task)), None)
