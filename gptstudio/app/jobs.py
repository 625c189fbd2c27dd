"""Jobs: sending the panel's task to the worker, cancelling, and landing results as undoable edits.

Every job is tagged with the session's document generation when it is queued; a result whose
generation is no longer current belongs to a document that was closed or replaced, and is dropped
(opening another document also cancels its predecessor's jobs). A result lands on the document as
it is then (see :mod:`~gptstudio.app.landing`): as is when its input is still the document's image,
only its changed pixels for a masked task, or re-run on the current image for a whole-image task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage, QUndoStack
from PySide6.QtWidgets import QMessageBox, QWidget

from gptstudio.app import new_picture
from gptstudio.app.canvas import Canvas
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.history import HistoryEntry, HistoryStore, ResultCommand
from gptstudio.app.history_mask import ClearsMask
from gptstudio.app.history_pixels import Edit, Pixels, patched
from gptstudio.app.landing import apply_region
from gptstudio.app.session import DocumentSession
from gptstudio.app.task_panel import TaskPanel
from gptstudio.app.undo_commands import ImageState
from gptstudio.app.worker import JobOutput, WorkerController
from gptstudio.core.errors import GptStudioError, MaskError
from gptstudio.core.imageio import ImageData
from gptstudio.core.vocabulary import TASK_LABELS
from gptstudio.tasks.requests import Request

#: Whole-image undo entries rebuild their image from this metadata-only copy plus their pixels.


@dataclass
class QueuedJob:
    """What the GUI remembers about a job it sent: the document generation it belongs to, and the
    request (whose image is the input the result was computed from)."""

    generation: int
    request: Request


class JobsController(QObject):
    """Run, cancel and land jobs for ``session``'s document on ``canvas`` through ``undo_stack``."""

    def __init__(
        self,
        parent_widget: QWidget,
        session: DocumentSession,
        canvas: Canvas,
        undo_stack: QUndoStack,
        panel: TaskPanel,
        notify: Callable[..., None],
    ) -> None:
        super().__init__(parent_widget)
        self.widget, self.session, self.canvas = parent_widget, session, canvas
        self.undo_stack, self.panel, self.notify = undo_stack, panel, notify
        self.jobs: dict[int, QueuedJob] = {}
        #: The results' undo payloads, kept under the memory budget (see :mod:`~gptstudio.app.history`).
        self.history = HistoryStore(undo_stack)
        #: Called with the new size when a result changes the image size (an upscale).
        self.size_changed: Callable[[int, int], None] = lambda w, h: None
        #: Called when a job was sent (an autosave in flight pauses until its result has landed).
        self.submitted: Callable[[], None] = lambda: None
        self.controller = WorkerController(self)
        w = self.controller.worker
        w.started.connect(self._started)
        w.progress.connect(self._progress)
        w.preview.connect(self._preview)
        w.finished.connect(self._finished)
        w.failed.connect(self._failed)
        w.cancelled.connect(self._cancelled)
        w.notice.connect(self._notice)
        session.document_changed.connect(self._document_changed)
        new_picture.update_panel(panel, session.document)
        self._mask_timer = QTimer(self)
        self._mask_timer.setSingleShot(True)
        self._mask_timer.setInterval(150)
        self._mask_timer.timeout.connect(self._check_mask)
        undo_stack.indexChanged.connect(self._mask_changed)

    def run(self) -> int | None:
        """Send the panel's task to the worker; returns the job id (None when nothing was sent)."""
        doc = self.session.document
        task = self.panel.current_task()
        new = new_picture.wants_new_picture(doc, task)  # Generate on an empty window
        if not new and (doc is None or self.canvas.mask_item is None):
            self.notify("Open an image first, or choose Generate to make one from a prompt.", 5000)
            return None
        try:
            if new:
                request = new_picture.new_picture_request(self.panel)
            else:
                assert doc is not None and self.canvas.mask_item is not None
                # the mask goes as uint8 (one copy, ~10 ms on 24 MP); the worker makes it float
                mask = self.canvas.mask_item.alpha() if self.panel.uses_mask() else None
                if mask is not None and not mask.any():
                    if task == "inpaint" and not self.panel.fills_transparent():
                        raise MaskError("The mask is empty: paint over the area to fill first (brush: B).")
                    mask = None  # no mask: a filter acts on the whole image, a fill on the transparent area
                request = self.panel.build_request(doc.image, mask)
        except GptStudioError as exc:
            error_dialog(self.widget, exc)
            return None
        job_id = self.controller.submit(request)
        self.jobs[job_id] = QueuedJob(self.session.generation, request)
        self.submitted()
        self.panel.set_running(True)
        queued = len(self.controller.active_jobs())
        self.panel.run_box.set_waiting(queued - 1)
        if queued == 1:
            self.panel.status.setText("Starting…")
        return job_id

    def cancel_all(self) -> None:
        self.controller.cancel_all()
        self.panel.status.setText("Cancelling…")

    def _document_changed(self) -> None:
        """Another document (or none): its predecessor's jobs stop, and their results are dropped."""
        if self.jobs:
            self.controller.cancel_all()
            self.jobs.clear()
        self.panel.run_box.reset()  # nothing said about the previous image stays
        doc = self.session.document
        new_picture.update_panel(self.panel, doc)
        self.panel.set_document_alpha(doc is not None and doc.image.alpha is not None)
        self._mask_changed()

    def _mask_changed(self) -> None:
        """Tell the panel whether a mask is painted ("Applies to: the masked area"); debounced, as
        reading a 24-MP mask costs a few ms and strokes come in bursts."""
        if not self._mask_timer.isActive():
            self._mask_timer.start()

    def _check_mask(self) -> None:
        mask = self.canvas.mask_item
        self.panel.set_masked(mask is not None and self.session.document is not None and not mask.is_empty())

    def _started(self, job_id: int) -> None:
        self.panel.run_box.job_started()
        self.panel.run_box.set_waiting(max(len(self.controller.active_jobs()) - 1, 0))
        self.panel.set_progress(0.0, "Working…")

    def _progress(self, job_id: int, fraction: float, message: str) -> None:
        self.panel.set_progress(fraction, message)

    def _preview(self, job_id: int, image: QImage) -> None:
        self.panel.set_preview(image)

    def _done(self) -> None:
        if not self.controller.active_jobs():
            self.panel.set_running(False)

    def _finished(self, job_id: int, output: JobOutput) -> None:
        stack = self.history.stack
        if getattr(stack, "busy", lambda: False)():  # an undo step is running: land right after it
            QTimer.singleShot(10, lambda: self._finished(job_id, output))
            return
        job = self.jobs.pop(job_id, None)
        doc = self.session.document
        if job is not None and new_picture.is_new_picture(job.request):
            self._done()
            if job.generation == self.session.generation:  # nothing was opened meanwhile
                new_picture.open_new_picture(self.session, self.panel, output, self.notify, len(self.jobs))
            return
        if job is None or doc is None or job.generation != self.session.generation:
            self._done()
            return  # the document it was computed for is gone
        result = output.result
        task = TASK_LABELS.get(str(result.params.get("task")), "Result")
        image, qimage, edit = result.image, output.qimage, output.edit
        if doc.image is not job.request.image:  # another edit landed (or was undone) meanwhile
            if output.region is None:
                self._rebase(job, task)
                return
            if doc.image.size != result.image.size:
                self._done()
                self._refuse(task)
                return
            image = apply_region(doc.image, result.image, output.region)
            edit = Edit(Pixels.of(doc.image, output.region), Pixels.of(image, output.region), False)
            qimage = patched(self.canvas.image_item.image(), edit.after)
        self._done()
        assert edit is not None
        self.history.share(doc.image, edit, image)
        entry = HistoryEntry.landing(edit, doc.history, result.params, doc.image, image)
        if image.size != doc.image.size and self.canvas.mask_item is not None:
            # an upscale: the mask follows the image, and undo gives back the mask it had
            entry.mask_before = self.canvas.mask_item.alpha()
            entry.mask_after = resized_mask(entry.mask_before, *image.size)
        first = ImageState(image, qimage, entry.history_after, entry.mask_after)
        text = f"{task} ({result.params.get('model')})"
        apply = self.apply_state
        if result.params.get("task") == "inpaint" and self.canvas.mask_item is not None:
            apply = ClearsMask(self.apply_state, self.canvas.mask_item, len(entry.history_after), entry)
        offload = getattr(self.history.stack, "run_off_thread", None)
        dropped = self.history.push(ResultCommand(apply, self._current, entry, first, text, offload))
        device = str(result.params.get("device", ""))
        # only now, with the result drawn, is the job done
        self.panel.run_box.finish(f"{task} done in {result.seconds:.1f} s on {device.upper() or 'CPU'}.")
        done = f"{task} done in {result.seconds:.1f} s."
        self.notify(f"{done} {dropped}" if dropped else done, 20000 if dropped else 8000)

    def _rebase(self, job: QueuedJob, task: str) -> None:
        """A whole-image result computed from an image that is no longer the document's: run the
        same request again on the current image rather than overwrite the newer edit."""
        doc = self.session.document
        assert doc is not None
        request = replace(job.request, image=doc.image)
        job_id = self.controller.submit(request)
        self.jobs[job_id] = QueuedJob(job.generation, request)
        text = f"{task} runs again on the current image: another edit landed while it waited."
        self.panel.status.setText(text)
        self.notify(text, 10000)

    def _refuse(self, task: str) -> None:
        text = f"{task} was not applied: the image changed size while it waited. Run it again."
        self.panel.run_box.stop(text)
        self.notify(text, 15000)

    def _current(self) -> tuple[ImageData, QImage]:
        """The document image and the canvas image, which undo/redo patch."""
        assert self.session.document is not None
        return self.session.document.image, self.canvas.image_item.image()

    def apply_state(self, state: ImageState) -> None:
        """Undo and redo of a result: put that state's pixels and history back."""
        doc = self.session.document
        if doc is None:
            return
        doc.image = state.image
        doc.history = list(state.history)
        if state.mask is not None and state.mask.shape != self.canvas.image_size()[::-1]:
            self.canvas.resize_image(state.qimage, state.mask)
            self.size_changed(state.image.width, state.image.height)
        else:
            self.canvas.set_image(state.qimage)

    def _failed(self, job_id: int, error: GptStudioError) -> None:
        self.jobs.pop(job_id, None)
        self._done()
        self.panel.run_box.stop(f"Failed: {error}")
        error_dialog(self.widget, error)

    def _cancelled(self, job_id: int) -> None:
        self.jobs.pop(job_id, None)
        self._done()
        self.panel.run_box.stop("Cancelled.")
        self.notify("Job cancelled; the image is unchanged.", 5000)

    def _notice(self, job_id: int, text: str) -> None:
        self.panel.status.setText(text)
        self.notify(text, 15000)
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Running on the CPU",
            text,
            QMessageBox.StandardButton.Ok,
            self.widget,
        )
        box.setObjectName("noticeDialog")
        box.open()


def resized_mask(alpha: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mask stretched to a result of another size, so what was masked stays masked."""
    import cv2

    return np.ascontiguousarray(cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR))
