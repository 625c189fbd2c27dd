"""The batch manifest: one JSON line per file per attempt, in the output folder.

It is what makes a killed batch resumable and a finished one auditable. Each attempt appends one
``"kind": "file"`` record (relative path, done/skipped/failed, reason, parameters, model, seconds,
sha256 of the input bytes, output path, the options key); each run adds a ``"run"`` record when it
starts (options, model, the batch's seed) and an ``"end"`` record when it stops (finished or
cancelled, with the counts).

Appending, not rewriting: rewriting the whole file atomically for each of 10,000 files would cost
quadratic time, while one ``write`` of a complete line to a file opened for appending either lands
whole or, if the process is killed inside it, leaves a torn last line that :func:`read_manifest`
skips (that file is then simply done again). Records of finished and failed files are fsynced, so a
result on disk is never without its record after a power cut; skip records are only flushed.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gptstudio.core.errors import ImageWriteError

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass
class ManifestIndex:
    """What earlier runs left: the last successful record per input, and the runs' seeds."""

    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outputs(self) -> frozenset[str]:
        """Output paths (relative to the output folder) that a run of this batch wrote."""
        return frozenset(str(r.get("output")) for r in self.done.values() if r.get("output"))

    def seed_for(self, base_key: str) -> int | None:
        """The seed the latest run with the same options (seed aside) used, so a resume keeps it."""
        for run in reversed(self.runs):
            if run.get("base_key") == base_key and isinstance(run.get("seed"), int):
                return int(run["seed"])
        return None


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """Every well-formed record in a manifest, in order; torn or foreign lines are skipped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record
    except FileNotFoundError:
        return


def read_manifest(path: Path) -> ManifestIndex:
    """Index a manifest for resuming (an absent one is an empty index)."""
    index = ManifestIndex()
    for record in iter_records(path):
        kind = record.get("kind")
        if kind == "run":
            index.runs.append(record)
        elif kind == "file" and record.get("status") == DONE and isinstance(record.get("path"), str):
            index.done[record["path"]] = record
    return index


class ManifestWriter:
    """Appends records from any of the batch's threads, one complete line per ``write``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            needs_newline = path.exists() and path.stat().st_size > 0 and _last_byte(path) != b"\n"
            self._fd = os.open(
                path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666
            )
        except OSError as exc:
            raise ImageWriteError(
                f"Cannot write the batch manifest in {path.parent}: {exc.strerror}."
            ) from exc
        if needs_newline:  # a torn line from a killed run: start ours on a fresh line
            os.write(self._fd, b"\n")

    def append(self, record: dict[str, Any], *, durable: bool = True) -> None:
        record.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        line = (json.dumps(record, sort_keys=True, default=str, ensure_ascii=False) + "\n").encode()
        with self._lock:
            try:
                os.write(self._fd, line)
                if durable:
                    os.fsync(self._fd)
            except OSError as exc:
                raise ImageWriteError(
                    f"Cannot write the batch manifest {self.path}: {exc.strerror}."
                ) from exc

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1)
