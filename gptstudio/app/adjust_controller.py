"""Adjustments in the editor: the live preview on the canvas and Apply as one undoable edit.

Preview: the image is shrunk once (per document image) to at most :data:`PREVIEW_SIDE` pixels;
each change of a slider adjusts that copy on a background thread — through the feathered mask,
as Apply will — and the result is shown over the photo, scaled to its size, with the histogram of
what it shows. A 24-MP photo previews as fast as a thumbnail and the GUI thread never computes.

Apply: the full image is adjusted on a background thread by the same task the command line runs
(:func:`gptstudio.tasks.adjust.adjust`), quantized to the document's bit depth there, and lands
through the results history (:mod:`~gptstudio.app.history`) with its parameters, as a region edit
when a mask limits it — undo gives back the exact pixels, 16-bit ones included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, QTimer
from PySide6.QtGui import QImage, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsPixmapItem

from gptstudio.app.adjust_panel import AdjustPanel
from gptstudio.app.background import BackgroundRunner
from gptstudio.app.canvas import Canvas
from gptstudio.app.convert import rgb_to_qimage
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.history import HistoryEntry, HistoryStore, ResultCommand
from gptstudio.app.history_pixels import capture
from gptstudio.app.session import DocumentSession
from gptstudio.app.undo_commands import ImageState
from gptstudio.core.adjust import apply_adjustments, auto_levels, grey_point_gains, histogram, sample_colour
from gptstudio.core.errors import GptStudioError
from gptstudio.core.imageio import ImageData, to_uint8
from gptstudio.core.masks import composite, feather

#: Long side of the preview copy, in pixels.
PREVIEW_SIDE = 1280
#: Feather of the mask edge, in pixels of the photo (the tasks' default).
FEATHER = 4.0


class AdjustController(QObject):
    def __init__(
        self,
        panel: AdjustPanel,
        canvas: Canvas,
        session: DocumentSession,
        history: HistoryStore,
        apply_state: Callable[[ImageState], None],
        notify: Callable[..., None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel, self.canvas, self.session, self.history = panel, canvas, session, history
        self.apply_state, self.notify = apply_state, notify
        self.preview_runner = BackgroundRunner("adjust-preview", self)
        self.apply_runner = BackgroundRunner("adjust-apply", self)
        self.preview_runner.done.connect(self._preview_done)
        self.preview_runner.failed.connect(lambda exc: self.notify(f"Preview failed: {exc}", 8000))
        self.apply_runner.done.connect(self._applied)
        self.apply_runner.failed.connect(self._apply_failed)
        self.overlay = QGraphicsPixmapItem()
        self.overlay.setZValue(0.5)  # over the image, under the compare "before" layer and the mask
        self.overlay.setVisible(False)
        self.overlay.setTransformationMode(self.overlay.transformationMode().SmoothTransformation)
        canvas.scene().addItem(self.overlay)
        self._proxy: tuple[ImageData, np.ndarray] | None = None
        self._again = False
        self.visible = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(60)
        self._timer.timeout.connect(self.refresh)
        panel.changed.connect(self._timer.start)
        panel.apply_clicked.connect(self.apply)
        panel.auto_levels_clicked.connect(self.auto_levels)
        panel.pick_grey_clicked.connect(self.pick_grey)
        session.document_changed.connect(self._document_changed)
        history.stack.indexChanged.connect(self._timer.start)  # undo, redo, a result: preview anew

    # --- preview ----------------------------------------------------------------------------------

    def set_visible(self, visible: bool) -> None:
        """The panel shown or hidden: a hidden panel previews nothing."""
        self.visible = visible
        self.refresh()

    def _document_changed(self) -> None:
        self._proxy = None
        self.refresh()

    def _mask(self) -> np.ndarray | None:
        mask = self.canvas.mask_item
        if mask is None:
            return None
        alpha = mask.alpha()
        return alpha if alpha.any() else None

    def refresh(self) -> None:
        """Recompute the preview for the current values (on the preview thread)."""
        doc = self.session.document
        a = self.panel.adjustments()
        if doc is None or not self.visible or not self.panel.previewing() or a.is_identity:
            self.overlay.setVisible(False)
            if doc is not None and self.visible:
                self._start_preview(doc.image, a, None, show=False)
            return
        self._start_preview(doc.image, a, self._mask(), show=True)

    def _start_preview(self, image: ImageData, a: Any, mask: np.ndarray | None, show: bool) -> None:
        if self.preview_runner.is_busy():
            self._again = True
            return
        self._again = False
        cached = self._proxy if self._proxy is not None and self._proxy[0] is image else None

        def work() -> tuple[ImageData, np.ndarray, QImage | None, np.ndarray]:
            small = cached[1] if cached is not None else _shrink(image.rgb)
            out = apply_adjustments(small, a) if show else small
            if show and mask is not None:
                blend = feather(
                    _shrink(mask.astype(np.float32) / 255.0), FEATHER * small.shape[1] / image.width
                )
                out = composite(small, out, blend, out=out)
            qimage = rgb_to_qimage(to_uint8(out)) if show else None
            return image, small, qimage, histogram(out)

        self.preview_runner.start(work)

    def _preview_done(self, value: tuple[ImageData, np.ndarray, QImage | None, np.ndarray]) -> None:
        image, small, qimage, counts = value
        doc = self.session.document
        self._proxy = (image, small)
        self.panel.histogram.set_counts(counts)
        if self._again or doc is None or doc.image is not image:
            self.refresh()
            return
        if qimage is not None and self.panel.previewing() and self.visible:
            self.overlay.setPixmap(QPixmap.fromImage(qimage))
            self.overlay.setTransform(
                QTransform.fromScale(image.width / qimage.width(), image.height / qimage.height())
            )
            self.overlay.setVisible(True)
        else:
            self.overlay.setVisible(False)

    def previewing(self) -> bool:
        return self.overlay.isVisible()

    # --- measuring --------------------------------------------------------------------------------

    def auto_levels(self) -> None:
        doc = self.session.document
        if doc is None:
            return
        image = doc.image
        runner = BackgroundRunner("adjust-measure", self)
        runner.done.connect(lambda points: self.panel.set_levels(*points))
        runner.done.connect(lambda _v: runner.deleteLater())
        self._measure = runner  # kept until done; shutdown waits for it
        runner.start(lambda: auto_levels(image.rgb))

    def pick_grey(self) -> None:
        """The next click on the photo picks the grey point."""
        if self.session.document is None:
            return
        self.canvas.gestures.pick_handler = self._picked
        self.notify("Click a pixel that should be neutral grey.", 10000)

    def _picked(self, pos: QPointF) -> None:
        doc = self.session.document
        if doc is None:
            return
        try:
            colour = sample_colour(doc.image.rgb, int(pos.x()), int(pos.y()))
        except GptStudioError as exc:
            self.notify(str(exc), 8000)
            return
        self.panel.set_wb_gains(grey_point_gains(colour))
        self.notify("White balance set from the grey point.", 5000)

    # --- applying ---------------------------------------------------------------------------------

    def apply(self) -> bool:
        """Adjust the image (through the feathered mask when one is painted) as one undoable edit."""
        doc = self.session.document
        a = self.panel.adjustments()
        if doc is None:
            self.notify("Open an image first.", 5000)
            return False
        if a.is_identity:
            self.notify("Nothing to apply: every adjustment is at its neutral value.", 5000)
            return False
        if self.apply_runner.is_busy():
            self.notify("Still applying the previous adjustment…", 5000)
            return False
        from gptstudio.tasks.adjust import AdjustRequest, adjust

        image, mask = doc.image, self._mask()

        def work() -> tuple[ImageData, Any, Any]:
            m = None if mask is None else np.divide(mask, np.float32(255), dtype=np.float32)
            result = adjust(AdjustRequest(image, a, mask=m, feather=FEATHER))
            return image, result, capture(image, result.image, masked=mask is not None)

        self.panel.status.setText("Applying…")
        self.panel.apply_button.setEnabled(False)
        return self.apply_runner.start(work)

    def _applied(self, value: tuple[ImageData, Any, Any]) -> None:
        image, result, landed = value
        self.panel.apply_button.setEnabled(True)
        doc = self.session.document
        if doc is None or doc.image is not image:
            self.panel.status.setText("Not applied: the image changed meanwhile. Apply again.")
            return
        self.history.share(doc.image, landed.edit, landed.image)
        entry = HistoryEntry.landing(landed.edit, doc.history, result.params, doc.image, landed.image)
        first = ImageState(landed.image, landed.qimage, entry.history_after)

        def current() -> tuple[ImageData, QImage]:
            assert self.session.document is not None
            return self.session.document.image, self.canvas.image_item.image()

        where = "the masked area" if result.params.get("masked") else "the whole image"
        dropped = self.history.push(ResultCommand(self.apply_state, current, entry, first, "Adjust"))
        self.panel.status.setText(f"Applied to {where} in {result.seconds:.1f} s.")
        self.notify(f"Adjusted {where}. {dropped or ''}".strip(), 8000)
        self.overlay.setVisible(False)  # the image itself shows it now
        self.panel.reset()

    def _apply_failed(self, exc: object) -> None:
        self.panel.apply_button.setEnabled(True)
        self.panel.status.setText(f"Failed: {exc}")
        if isinstance(exc, GptStudioError):
            error_dialog(self.canvas.window(), exc)

    def busy(self) -> bool:
        return self.preview_runner.is_busy() or self.apply_runner.is_busy()

    def shutdown(self) -> None:
        """Wait for the threads (closing the window)."""
        for runner in (self.preview_runner, self.apply_runner, getattr(self, "_measure", None)):
            if runner is not None:
                runner.wait()


def _shrink(values: np.ndarray) -> np.ndarray:
    """The preview copy: the long side at most :data:`PREVIEW_SIDE`, by area averaging."""
    h, w = values.shape[:2]
    scale = PREVIEW_SIDE / max(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(values, dtype=np.float32)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(values, size, interpolation=cv2.INTER_AREA).astype(np.float32, copy=False)
