"""The Batch dialog's background work: planning a folder, and running the batch on its own QThread.

Why a dedicated QThread rather than the editor's worker: a batch runs for minutes to hours and must
not hold up Run in the editor, and the batch engine already overlaps decoding, the model and
writing with its own threads. This thread only calls :class:`~gptstudio.batch.BatchRunner` and
turns its callbacks into queued signals, so the GUI thread never waits on a file. Result
thumbnails are decoded small (``QImageReader`` scaled reads) on one more thread, off both the GUI
and the batch's writer, and handed over as ``QImage`` (safe across threads, unlike ``QPixmap``).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, QThread, Signal
from PySide6.QtGui import QImage, QImageReader

from gptstudio.batch import MANIFEST_NAME, BatchOptions, BatchRunner, PlannedFile, check_options, plan
from gptstudio.batch.manifest import read_manifest
from gptstudio.batch.options import SEEDED_TASKS, options_key
from gptstudio.core.progress import TaskState
from gptstudio.models import registry

THUMB = 40


@dataclass
class Preview:
    """What Start would do: the planned files and how many an earlier run already finished."""

    items: list[PlannedFile]
    already_done: set[str]


def preview(options: BatchOptions) -> Preview:
    """Plan the batch (folder listings only, no decoding) and count what the manifest has as done.

    "Done" here is a done record with the same options whose output still exists; the batch itself
    also compares each input's hash, so a file changed since is redone even if counted here.
    """
    check_options(options)
    index = read_manifest(options.output_dir / MANIFEST_NAME)
    items = plan(options, index.outputs)
    model = options.model or registry.default_model(options.task)
    seed = options.seed
    if options.task in SEEDED_TASKS and seed is None:
        seed = index.seed_for(options_key(options, model, None))
    key = options_key(options, model, seed)
    done = set()
    for item in items:
        rec = index.done.get(item.rel)
        same = rec is not None and (item.mask is not None or rec.get("options_key") == key)
        if same and rec.get("output") == item.output_rel and item.output.exists():
            done.add(item.rel)
    return Preview(items, done)


def load_thumbnail(path: Path, size: int = THUMB) -> QImage:
    """A small image of ``path``, read scaled where the format allows (JPEG decodes at 1/8)."""
    reader = QImageReader(str(path))
    full = reader.size()
    if full.isValid() and full.width() > 0 and full.height() > 0:
        scale = size / max(full.width(), full.height())
        reader.setScaledSize(QSize(max(1, round(full.width() * scale)), max(1, round(full.height() * scale))))
    image = reader.read()
    if not image.isNull() and max(image.width(), image.height()) > size:
        image = image.scaled(size, size)
    return image


class BatchThread(QThread):
    """One batch run. Signals arrive queued in the GUI thread; the slots here may be called from it."""

    file_started = Signal(str)
    file_recorded = Signal(dict)
    thumbnail_ready = Signal(str, QImage)
    progress = Signal(float, str)
    finished_batch = Signal(object)  # BatchSummary
    failed = Signal(object)  # the exception that stopped the batch before or while it ran

    def __init__(self, options: BatchOptions, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchThread")
        self.options = options
        self.runner = BatchRunner(
            options,
            TaskState(callback=lambda f, m: self.progress.emit(float(f), m)),
            on_record=self._on_record,
            on_start=self.file_started.emit,
        )
        self._thumbs: queue.Queue[tuple[str, Path] | None] = queue.Queue()

    # --- called from the GUI thread --------------------------------------------------------------

    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    def cancel(self) -> None:
        """Stop after the file(s) on the model; they are finished and written."""
        self.runner.cancel()

    # --- the thread ---------------------------------------------------------------------------------

    def _on_record(self, record: dict[str, Any]) -> None:  # the batch's threads
        self.file_recorded.emit(dict(record))
        if record.get("status") == "done" and record.get("output"):
            self._thumbs.put((str(record["path"]), self.options.output_dir / str(record["output"])))

    def _thumbnail_loop(self) -> None:
        while (item := self._thumbs.get()) is not None:
            rel, path = item
            if self.runner.state.cancelled:
                continue  # stopping: do not hold the end up for pictures
            image = load_thumbnail(path)
            if not image.isNull():
                self.thumbnail_ready.emit(rel, image)

    def run(self) -> None:
        thumbs = threading.Thread(target=self._thumbnail_loop, name="batch-thumbnails", daemon=True)
        thumbs.start()
        outcome: tuple[bool, object]
        try:
            outcome = (True, self.runner.run())
        except Exception as exc:  # shown by the dialog, which knows how to word it
            outcome = (False, exc)
        finally:
            self._thumbs.put(None)
            thumbs.join()  # every thumbnail is out before the end is told
        ok, value = outcome
        (self.finished_batch if ok else self.failed).emit(value)
