"""Image > Extend Canvas…: a larger canvas whose new border becomes the mask, ready to Run Inpaint.

The dialog asks how many pixels to add on each side. The canvas is extended on a background
thread by the same function ``gptstudio outpaint`` uses (:func:`gptstudio.tasks.outpaint.extend_canvas`:
the border starts as the stretched edge pixels), and lands as one undoable edit through the
results history — undo gives back the old size and the old mask. The mask becomes the new border
(plus what was masked before, moved with the picture), the task panel switches to Inpaint with
the default inpainter, and the user presses Run to fill it (or paints more first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QWidget

from gptstudio.app.background import BackgroundRunner
from gptstudio.app.canvas import Canvas
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.history import HistoryEntry, HistoryStore, ResultCommand
from gptstudio.app.history_pixels import capture
from gptstudio.app.session import DocumentSession
from gptstudio.app.undo_commands import ImageState
from gptstudio.core.errors import GptStudioError
from gptstudio.core.imagedata import ImageData
from gptstudio.tasks.outpaint import MAX_EXTEND, extend_canvas

SIDES = ("left", "top", "right", "bottom")


class ExtendCanvasDialog(QDialog):
    """Four borders in pixels; OK is enabled only when at least one is above zero."""

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("extendCanvasDialog")
        self.setWindowTitle("Extend Canvas")
        form = QFormLayout(self)
        self.spins: dict[str, QSpinBox] = {}
        for side in SIDES:
            spin = QSpinBox()
            spin.setObjectName(f"extend_{side}")
            spin.setRange(0, MAX_EXTEND)
            spin.setSingleStep(64)
            spin.setSuffix(" px")
            spin.setValue(256 if side in ("left", "right") else 0)
            spin.valueChanged.connect(self._update)
            self.spins[side] = spin
            form.addRow(f"{side.capitalize()}:", spin)
        self.size_note = QLabel()
        self.size_note.setObjectName("extendSize")
        form.addRow(self.size_note)
        form.addRow(QLabel("The new border becomes the mask: press Run with Inpaint to fill it."))
        buttons = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        self.buttons = QDialogButtonBox(buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._size = (width, height)
        self._update()

    def borders(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels."""
        return tuple(int(self.spins[s].value()) for s in SIDES)  # type: ignore[return-value]

    def _update(self) -> None:
        left, top, right, bottom = self.borders()
        w, h = self._size
        self.size_note.setText(f"New size: {w + left + right} × {h + top + bottom} px")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(any(self.borders()))


class ExtendCanvasController(QObject):
    """Runs the extension off the GUI thread and lands it as an undoable edit with its mask."""

    def __init__(
        self,
        canvas: Canvas,
        session: DocumentSession,
        history: HistoryStore,
        apply_state: Callable[[ImageState], None],
        notify: Callable[..., None],
        on_extended: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas, self.session, self.history = canvas, session, history
        self.apply_state, self.notify, self.on_extended = apply_state, notify, on_extended
        self.runner = BackgroundRunner("extend-canvas", self)
        self.runner.done.connect(self._landed)
        self.runner.failed.connect(self._failed)

    def ask(self, parent: QWidget | None = None) -> QDialog | None:
        """Open the dialog (non-blocking); OK starts the extension."""
        doc = self.session.document
        if doc is None:
            self.notify("Open an image first.", 5000)
            return None
        dialog = ExtendCanvasDialog(doc.image.width, doc.image.height, parent)
        dialog.accepted.connect(lambda: self.extend(*dialog.borders()))
        dialog.open()
        return dialog

    def extend(self, left: int, top: int, right: int, bottom: int) -> bool:
        """Extend the open document's canvas by these borders (in the background)."""
        doc = self.session.document
        if doc is None or not any((left, top, right, bottom)):
            return False
        if self.runner.is_busy():
            self.notify("Still extending the canvas…", 5000)
            return False
        image = doc.image
        mask_before = self.canvas.mask_item.alpha() if self.canvas.mask_item is not None else None

        def work() -> tuple[ImageData, Any, np.ndarray, np.ndarray | None, dict[str, Any]]:
            old = None if mask_before is None else mask_before.astype(np.float32) / 255.0
            bigger, hole = extend_canvas(image, left, top, right, bottom, mask=old)
            mask_after = np.clip(np.rint(hole * 255.0), 0, 255).astype(np.uint8)
            params = {"task": "extend", "model": "none", "extend": [left, top, right, bottom]}
            return image, capture(image, bigger, masked=False), mask_after, mask_before, params

        self.notify("Extending the canvas…", 3000)
        return self.runner.start(work)

    def _landed(self, value: tuple[ImageData, Any, np.ndarray, np.ndarray | None, dict[str, Any]]) -> None:
        image, landed, mask_after, mask_before, params = value
        doc = self.session.document
        if doc is None or doc.image is not image:
            self.notify("The canvas was not extended: the image changed meanwhile. Try again.", 8000)
            return
        self.history.share(doc.image, landed.edit, landed.image)
        entry = HistoryEntry.landing(landed.edit, doc.history, params, doc.image, landed.image)
        h, w = image.height, image.width
        entry.mask_before = mask_before if mask_before is not None else np.zeros((h, w), np.uint8)
        entry.mask_after = mask_after
        first = ImageState(landed.image, landed.qimage, entry.history_after, mask_after)

        def current() -> tuple[ImageData, QImage]:
            assert self.session.document is not None
            return self.session.document.image, self.canvas.image_item.image()

        dropped = self.history.push(ResultCommand(self.apply_state, current, entry, first, "Extend Canvas"))
        size = f"{landed.image.width}×{landed.image.height}"
        text = f"Canvas extended to {size}; the new border is masked — press Run to fill it."
        self.notify(f"{text} {dropped or ''}".strip(), 10000)
        self.on_extended()

    def _failed(self, exc: object) -> None:
        self.notify(f"The canvas was not extended: {exc}", 10000)
        if isinstance(exc, GptStudioError):
            error_dialog(self.canvas.window(), exc)

    def shutdown(self) -> None:
        self.runner.wait()
