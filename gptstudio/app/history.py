"""The result history, bounded by memory: what a result's undo entry keeps and when it is dropped.

Why this shape:

- An undo entry keeps only the box a result changed (the inpaint's region, or the whole image for
  denoise/restore/upscale), before and after, in the image's own bit depth (uint8 or uint16), not
  the float32 the tasks work in (4 bytes a channel) nor the ARGB copy the canvas draws: a 24-MP
  whole-image step costs 72 MB (8-bit) instead of about 370 MB. The display image is rebuilt from
  those pixels on undo/redo. Consecutive whole-image results share the array that is one's
  "after" and the next one's "before".
- Exactness: results are quantized to the document's bit depth in the worker (:func:`capture`),
  which is what Save writes anyway, so every document image is ``k / 255`` (or ``k / 65535``) in
  float32 and the uint arrays give back pixel-equal images, 16-bit included.
- The budget ("history/budget_mb", default min(1024 MB, 10 % of RAM)) drops the oldest entries
  rather than spilling them to disk: a spill costs seconds of compression and disk space without
  limit on a 24-MP photo, for steps users rarely go back to, and a file read on undo would stall
  the window. QUndoStack cannot drop its oldest commands, so the store keeps the payloads and,
  when it evicts one, cuts the stack there: it clears the stack and pushes the newer commands back
  inside :class:`Replay` wrappers (their Python state survives ``clear()``), keeping the clean
  (saved) state. The user is told once, in the status bar.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PySide6.QtGui import QImage, QUndoCommand, QUndoStack

from gptstudio.app.history_pixels import Edit, Pixels, display_qimage, patched, rebuilt
from gptstudio.app.settings import settings
from gptstudio.app.undo_commands import ImageState
from gptstudio.core.imageio import ImageData

BUDGET_KEY = "history/budget_mb"

#: The pixels of a metadata-only copy of an image.
_NO_PIXELS = np.zeros((0, 0, 3), np.float32)


def default_budget_mb() -> int:
    """min(1024 MB, 10 % of RAM), or 512 MB where the RAM cannot be read.

    Why 1 GB and not more: on a 24-MP photo the document, its original, the canvas and a job in
    flight already take about 1.5-2 GB; 1 GB of history (14+ whole-image steps, hundreds of
    region steps) keeps the editor under 3 GB.
    """
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 512
    return int(max(64, min(1024, total * 0.10 / 2**20)))


def budget_bytes() -> int:
    """The history budget the user set (in MB), read at each result so a change applies at once."""
    try:
        mb = float(settings().value(BUDGET_KEY, default_budget_mb()))
    except (TypeError, ValueError):
        mb = default_budget_mb()
    return int(max(1.0, mb) * 2**20)


@dataclass(eq=False)
class HistoryEntry:
    """One result's undo payload. ``edit`` is None once the store evicted it."""

    edit: Edit | None
    history_before: list[dict[str, Any]]
    history_after: list[dict[str, Any]]
    #: Metadata-only copies of the images (bit depth, ICC, EXIF...), used to rebuild whole edits.
    meta_before: ImageData
    meta_after: ImageData
    #: The masks at each size, kept only for a result that changes the size (an upscale).
    mask_before: np.ndarray | None = field(default=None, repr=False)
    mask_after: np.ndarray | None = field(default=None, repr=False)
    #: The mask an inpaint cleared as it landed, as its compact box (see :mod:`.history_mask`).
    mask_box: Any = field(default=None, repr=False)

    @classmethod
    def landing(
        cls,
        edit: Edit,
        history: list[dict[str, Any]],
        params: dict[str, Any],
        before: ImageData,
        after: ImageData,
    ) -> HistoryEntry:
        """The entry of an edit landing on a document whose history is ``history``: that history
        with ``params`` appended, and metadata-only copies of the images before and after."""
        return cls(
            edit,
            list(history),
            [*history, dict(params)],
            replace(before, rgb=_NO_PIXELS, alpha=None),
            replace(after, rgb=_NO_PIXELS, alpha=None),
        )

    def arrays(self) -> list[np.ndarray]:
        out = [m for m in (self.mask_before, self.mask_after) if m is not None]
        if self.mask_box is not None:
            out.append(self.mask_box.alpha)
        if self.edit is not None:
            out += self.edit.before.arrays + self.edit.after.arrays
        return out


class ResultCommand(QUndoCommand):
    """A result landing on the canvas. The first redo shows the worker's image; later undo/redo
    rebuild the document image and its display image from the entry's quantized pixels."""

    def __init__(
        self,
        apply: Callable[[ImageState], None],
        current: Callable[[], tuple[ImageData, QImage]],
        entry: HistoryEntry,
        first: ImageState,
        text: str,
        offload: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        super().__init__(text)
        self._apply, self._current, self.entry = apply, current, entry
        self._first: ImageState | None = first
        #: Runs a whole-image step's rebuild off the GUI thread (``UndoStack.run_off_thread``).
        self._offload = offload or (lambda fn: fn())

    def redo(self) -> None:
        if self._first is not None:
            state, self._first = self._first, None
            self._apply(state)
            return
        self._put(after=True)

    def undo(self) -> None:
        self._put(after=False)

    def _put(self, after: bool) -> None:
        e = self.entry
        if e.edit is None:  # evicted: the stack was cut above this command, so this cannot happen
            return
        pixels = e.edit.after if after else e.edit.before
        image, shown = self._current()
        template = (e.meta_after if after else e.meta_before) if e.edit.whole else None
        # A region step writes its box into the document's arrays and the canvas image in place
        # when nothing else holds them (no queued job's request, autosave snapshot or original):
        # copying 24 MP of floats and ARGB for a 400x400 box stalled the window 150 ms.
        # The references counted: the owner's attribute, this frame's name, getrefcount's argument.
        image_alone = sys.getrefcount(image) <= 3 and sys.getrefcount(image.rgb) <= 2
        if e.edit.whole:
            new, qimage = self._offload(
                lambda: (rebuilt(image, pixels, template), display_qimage(pixels.rgb, pixels.alpha))
            )
        else:
            shown_alone = sys.getrefcount(shown) <= 3  # the item's attribute, this name, the argument

            def region() -> tuple[ImageData, QImage]:
                return (
                    rebuilt(image, pixels, template, in_place=image_alone),
                    patched(shown, pixels, in_place=shown_alone),
                )

            # In place it is a box's worth of work; a copy of 24 MP (something else holds the
            # image, such as an autosave being written) goes to a thread like a whole step.
            new, qimage = region() if image_alone and shown_alone else self._offload(region)
        mask = e.mask_after if after else e.mask_before
        self._apply(ImageState(new, qimage, list(e.history_after if after else e.history_before), mask))


class Replay(QUndoCommand):
    """A command pushed back after the stack was cut; its first redo is skipped (already done)."""

    def __init__(self, inner: QUndoCommand, text: str) -> None:
        super().__init__(text)
        self.inner, self._skip = inner, True

    def redo(self) -> None:
        if self._skip:
            self._skip = False
            return
        self.inner.redo()

    def undo(self) -> None:
        self.inner.undo()


def _inner(command: QUndoCommand) -> QUndoCommand:
    return command.inner if isinstance(command, Replay) else command


class HistoryStore:
    """Holds the result entries of ``stack`` and keeps their pixels under the budget."""

    def __init__(self, stack: QUndoStack) -> None:
        self.stack = stack
        self.entries: list[tuple[HistoryEntry, ResultCommand]] = []
        self._told = False
        self._cutting = False
        self._last_whole: tuple[weakref.ref[ImageData], Pixels] | None = None
        stack.indexChanged.connect(self._index_changed)

    @property
    def total_bytes(self) -> int:
        """Bytes held by the entries; an array shared by two entries counts once."""
        seen: dict[int, int] = {}
        for entry, _ in self.entries:
            for a in entry.arrays():
                seen[id(a)] = a.nbytes
        return sum(seen.values())

    def share(self, doc_image: ImageData, edit: Edit, result: ImageData) -> None:
        """A whole edit whose input is the image the previous whole edit produced reuses that
        edit's "after" array as its "before" (the same pixels), then becomes the one to share."""
        if not edit.whole:
            return
        if self._last_whole is not None:
            ref, pixels = self._last_whole
            if ref() is doc_image and pixels.rgb.shape == edit.before.rgb.shape:
                edit.before = pixels
        self._last_whole = (weakref.ref(result), edit.after)

    def push(self, command: ResultCommand) -> str | None:
        """Push a result, then drop the oldest entries while the history is over budget.

        Returns the sentence that tells the user, the first time steps are dropped for this
        document (the caller puts it beside its "done" message, which would hide it otherwise)."""
        self.stack.push(command)
        self.entries.append((command.entry, command))
        self._prune()
        budget, cut = budget_bytes(), -1
        while len(self.entries) > 1 and self.total_bytes > budget:
            entry, old = self.entries.pop(0)
            entry.edit = entry.mask_before = entry.mask_after = entry.mask_box = None
            cut = max(cut, self._index_of(old))
        if cut >= 0:
            self._cut(cut + 1)
            if not self._told:
                self._told = True
                return (
                    f"The oldest undo steps were dropped to keep the history under "
                    f"{budget / 2**20:g} MB (setting {BUDGET_KEY})."
                )
        return None

    def _index_of(self, command: ResultCommand) -> int:
        for i in range(self.stack.count()):
            if _inner(self.stack.command(i)) is command:
                return i
        return -1

    def _prune(self) -> None:
        """Forget entries whose command left the stack (redo steps replaced by a new edit)."""
        alive = {id(_inner(self.stack.command(i))) for i in range(self.stack.count())}
        self.entries = [(e, c) for e, c in self.entries if id(c) in alive]

    def _cut(self, first_kept: int) -> None:
        """Drop commands below ``first_kept``: clear the stack and push the rest back, done."""
        count, clean = self.stack.count(), self.stack.cleanIndex()
        kept = [
            (_inner(self.stack.command(i)), self.stack.command(i).text()) for i in range(first_kept, count)
        ]
        self._cutting = True
        try:
            self.stack.clear()
            for n, (command, text) in enumerate(kept):
                if clean == first_kept + n:
                    self.stack.setClean()
                self.stack.push(Replay(command, text))
            if clean == count:
                self.stack.setClean()
            elif clean < first_kept:
                self.stack.resetClean()
        finally:
            self._cutting = False

    def _index_changed(self, _index: int) -> None:
        try:
            empty = self.stack.count() == 0
        except RuntimeError:  # the stack is being destroyed with the window
            return
        if not self._cutting and empty:  # a new document: start over
            self.entries.clear()
            self._last_whole = None
            self._told = False
