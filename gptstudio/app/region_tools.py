"""The region tools on the canvas — Select Object and Magic Wand — and Grow / Shrink / Feather Mask.

Every operation computes on the region thread (:mod:`~gptstudio.app.region_worker`) and lands on
the mask as one undoable :class:`~gptstudio.app.mask_box.MaskBoxCommand` that keeps only its box.
The tool options' shape mode says what a region does: Add to mask, Subtract from mask, or (Select)
replace it; holding Alt with the wand subtracts.

Select Object: drag a box around the object; then click on a part to add it or Alt-click (or
right-click) a part to take it away. The clicks refine the same object, so the whole object stays
one undo step (the command on top of the stack is amended). The box starts a new object. With a
Segment Anything model chosen, clicks alone (no box) also select.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPen, QUndoStack
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from gptstudio.app.canvas import Canvas
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.mask_box import MaskBoxCommand, read_box, union
from gptstudio.app.region_worker import RegionWorkerController
from gptstudio.app.session import DocumentSession
from gptstudio.app.tools import ShapeMode, Tool, ToolSettings
from gptstudio.core.errors import GptStudioError
from gptstudio.core.selection import Patch, combine
from gptstudio.engines.segment import ObjectPrompt

#: A drag shorter than this (in screen pixels) is a click.
CLICK_SLOP = 4
MODE_OF = {ShapeMode.ADD: "add", ShapeMode.SUBTRACT: "subtract", ShapeMode.SELECT: "replace"}


class RegionTools(QObject):
    """Drives the region tools for one window's canvas, document and undo stack."""

    def __init__(
        self,
        canvas: Canvas,
        session: DocumentSession,
        undo_stack: QUndoStack,
        tools: ToolSettings,
        notify: Callable[..., None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas, self.session, self.undo_stack, self.tools = canvas, session, undo_stack, tools
        self.notify = notify
        self.regions = RegionWorkerController(self)
        self.regions.worker.done.connect(self._done)
        self.regions.worker.failed.connect(self._failed)
        self.regions.worker.status.connect(lambda text: self.notify(text, 5000))
        self._handlers: dict[int, Callable[[Any], None]] = {}
        self._press: QPointF | None = None
        self._press_view: QPointF | None = None
        self._box_item = QGraphicsRectItem()
        pen = QPen(QColor(255, 255, 255), 1.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._box_item.setPen(pen)
        self._box_item.setZValue(96)
        self._box_item.setVisible(False)
        canvas.scene().addItem(self._box_item)
        self._prompt = ObjectPrompt()
        self._object: MaskBoxCommand | None = None
        self._image: object | None = None
        canvas.gestures.region_handler = self
        tools.changed.connect(self._tool_changed)
        session.document_changed.connect(self._image_changed)
        undo_stack.indexChanged.connect(self._image_changed)

    # --- bookkeeping ----------------------------------------------------------------------------

    def _image_changed(self, *_: object) -> None:
        try:
            self.undo_stack.count()
        except RuntimeError:  # the stack is being destroyed with the window
            return
        doc = self.session.document
        image = None if doc is None else doc.image
        if image is not self._image:
            self._image = image
            self.regions.release()  # the region thread lets go of the old image and its embedding
        if self._object is not None and not self._on_top(self._object):
            self._end_object()

    def _tool_changed(self) -> None:
        if self.tools.tool is not Tool.OBJECT:
            self._end_object()

    def _end_object(self) -> None:
        self._object, self._prompt = None, ObjectPrompt()

    def _on_top(self, command: object) -> bool:
        n = self.undo_stack.count()
        return n > 0 and self.undo_stack.index() == n and self.undo_stack.command(n - 1) is command

    def busy(self) -> bool:
        """True while a region job has not landed yet (its result is applied when it arrives)."""
        return bool(self._handlers)

    def shutdown(self) -> bool:
        return self.regions.shutdown()

    # --- canvas events (called by the canvas for region tools) -----------------------------------

    def press(self, event: QMouseEvent, pos: QPointF) -> None:
        self._press, self._press_view = pos, event.position()
        if self.tools.tool is Tool.OBJECT and event.button() == Qt.MouseButton.LeftButton:
            self._box_item.setRect(QRectF(pos, pos))
            self._box_item.setVisible(True)

    def move(self, event: QMouseEvent, pos: QPointF) -> None:
        if self._press is not None and self.tools.tool is Tool.OBJECT:
            self._box_item.setRect(QRectF(self._press, pos).normalized())

    def release(self, event: QMouseEvent, pos: QPointF) -> None:
        start, start_view = self._press, self._press_view
        self._press = self._press_view = None
        self._box_item.setVisible(False)
        if start is None or self.session.document is None or self.canvas.mask_item is None:
            return
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        right = event.button() == Qt.MouseButton.RightButton
        assert start_view is not None
        moved = (event.position() - start_view).manhattanLength() > CLICK_SLOP
        if self.tools.tool is Tool.WAND:
            self.wand(int(pos.x()), int(pos.y()), subtract=alt or right)
        elif self.tools.tool is Tool.OBJECT:
            if moved and not right:
                rect = QRectF(start, pos).normalized()
                self.select_object(ObjectPrompt(box=(rect.left(), rect.top(), rect.right(), rect.bottom())))
            else:
                self.click_object(pos.x(), pos.y(), positive=not (alt or right))

    # --- the operations ---------------------------------------------------------------------------

    def _mode(self, subtract: bool = False) -> str:
        mode = MODE_OF[self.tools.shape_mode]
        if subtract:
            return "add" if mode == "subtract" else "subtract"
        return mode

    def _submit(self, work: Callable[[Any], Any], on_done: Callable[[Any], None]) -> int | None:
        doc = self.session.document
        if doc is None or self.canvas.mask_item is None:
            self.notify("Open an image first.", 5000)
            return None
        job_id = self.regions.submit(work)
        self._handlers[job_id] = on_done
        return job_id

    def select_object(self, prompt: ObjectPrompt) -> int | None:
        """A new object from a box (or, with a model, from clicks): added as a new undo step."""
        self._end_object()
        self._prompt = prompt
        return self._run_object(new=True)

    def click_object(self, x: float, y: float, positive: bool) -> int | None:
        """Refine the current object with a click (or start one from a click, with a model)."""
        if self._object is None or not self._on_top(self._object):
            if self.tools.segmenter == "grabcut":
                self.notify("Drag a box around the object first; then click to add or take away parts.", 8000)
                return None
            self._end_object()
            self._prompt = ObjectPrompt().with_click(x, y, positive)
            return self._run_object(new=True)
        self._prompt = self._prompt.with_click(x, y, positive)
        return self._run_object(new=False)

    def _run_object(self, new: bool) -> int | None:
        doc = self.session.document
        if doc is None:
            return None
        image, prompt, method = doc.image, self._prompt, self.tools.segmenter
        mode = self._mode()
        self.notify("Selecting the object…", 0)

        def work(session_for: Callable[..., Any]) -> Patch:
            return session_for(image, method).select_object(prompt)

        return self._submit(work, lambda patch: self._land_object(patch, mode, new))

    def wand(self, x: int, y: int, subtract: bool = False) -> int | None:
        doc = self.session.document
        if doc is None:
            return None
        image, tol, contiguous, mode = (
            doc.image,
            self.tools.tolerance,
            self.tools.contiguous,
            self._mode(subtract),
        )

        def work(session_for: Callable[..., Any]) -> Patch:
            return session_for(image, "grabcut").wand(x, y, tol, contiguous)

        return self._submit(work, lambda patch: self._land(patch, mode, "Magic wand"))

    def morph(self, op: str, pixels: float) -> int | None:
        """Grow, shrink or feather the whole mask by ``pixels`` (one undo step)."""
        from gptstudio.core import selection

        mask = self.canvas.mask_item
        if mask is None or self.session.document is None:
            return None
        alpha = mask.alpha()  # a copy (~10 ms on 24 MP); the work is on the region thread
        fn = {"grow": selection.grow, "shrink": selection.shrink, "feather": selection.feather_alpha}[op]
        top = self.undo_stack.command(self.undo_stack.index() - 1) if self.undo_stack.index() else None
        index = self.undo_stack.index()

        def work(
            _session_for: Callable[..., Any],
        ) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
            new = fn(alpha, int(pixels) if op != "feather" else pixels)
            changed = selection.trimmed((new != alpha).view(np.uint8))
            x0, y0, x1, y1 = changed.box
            return changed.box, alpha[y0:y1, x0:x1].copy(), new[y0:y1, x0:x1].copy()

        def land(value: tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]) -> None:
            box, before, after = value
            now_top = self.undo_stack.command(index - 1) if index else None
            if self.undo_stack.index() != index or now_top is not top:
                self.notify(
                    f"{op.capitalize()} was not applied: the mask changed meanwhile. Try again.", 8000
                )
                return
            if before.size == 0:
                self.notify("The mask did not change.", 5000)
                return
            text = {"grow": "Grow mask", "shrink": "Shrink mask", "feather": "Feather mask"}[op]
            self.undo_stack.push(MaskBoxCommand(mask, box, before, after, f"{text} ({pixels:g} px)"))
            self.notify(f"{text} by {pixels:g} px.", 5000)

        return self._submit(work, land)

    def ask_morph(self, op: str) -> int | None:
        """Edit > Grow/Shrink/Feather Mask…: ask how many pixels, then run :meth:`morph`."""
        from PySide6.QtWidgets import QInputDialog

        label = {"grow": "Grow the mask by", "shrink": "Shrink the mask by", "feather": "Feather the edge by"}
        pixels, ok = QInputDialog.getInt(
            self._dialog_parent(), f"{op.capitalize()} Mask", f"{label[op]} (pixels):", 8, 1, 500
        )
        return self.morph(op, pixels) if ok else None

    # --- results ----------------------------------------------------------------------------------

    def _done(self, job_id: int, value: object) -> None:
        handler = self._handlers.get(job_id)
        try:
            if handler is not None and self.canvas.mask_item is not None:
                handler(value)
        finally:
            self._handlers.pop(job_id, None)

    def _failed(self, job_id: int, error: GptStudioError) -> None:
        self._handlers.pop(job_id, None)
        self.notify(f"Selection failed: {error}", 10000)
        error_dialog(self._dialog_parent(), error)

    def _dialog_parent(self) -> QWidget:
        return self.canvas.window()

    def _land(self, patch: Patch, mode: str, text: str) -> None:
        if patch.empty and mode != "replace":
            self.notify("Nothing was selected there.", 5000)
            return
        mask = self.canvas.mask_item
        assert mask is not None
        w, h = self.canvas.image_size()
        box = (0, 0, w, h) if mode == "replace" else patch.box
        before = read_box(mask, box)
        after = combine(before, _placed(patch, box), mode)
        self.undo_stack.push(MaskBoxCommand(mask, box, before, after, text))
        self.notify("", 0)

    def _land_object(self, patch: Patch, mode: str, new: bool) -> None:
        mask = self.canvas.mask_item
        assert mask is not None
        w, h = self.canvas.image_size()
        if mode == "replace":
            box = (0, 0, w, h)
        elif patch.empty:
            box = self._object.box if (not new and self._object is not None) else (0, 0, 0, 0)
        else:
            box = patch.box
        amend = not new and self._object is not None and self._on_top(self._object)
        if amend:
            assert self._object is not None
            box = union(box, self._object.box) if box[2] > box[0] else self._object.box
            before = self._object.original(box)
        else:
            if box[2] <= box[0]:
                self.notify("No object was found in the box.", 5000)
                return
            before = read_box(mask, box)
        after = combine(before, _placed(patch, box), mode)
        if amend:
            assert self._object is not None
            self._object.amend(box, before, after)
        else:
            self._object = MaskBoxCommand(mask, box, before, after, "Select object")
            self.undo_stack.push(self._object)
        self.notify("Object selected: click to add parts, Alt-click to take parts away.", 8000)


def _placed(patch: Patch, box: tuple[int, int, int, int]) -> np.ndarray:
    """``patch`` placed in an array the size of ``box`` (which holds it)."""
    x0, y0, x1, y1 = box
    out = np.zeros((y1 - y0, x1 - x0), np.uint8)
    if not patch.empty:
        px0, py0, px1, py1 = patch.box
        out[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0] = patch.alpha
    return out
