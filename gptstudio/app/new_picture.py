"""Generate with no picture open: the prompt's picture arrives as a new, untitled document.

Why its own module: every other task edits the open document, so the jobs controller's rules
(a result lands as an undoable edit of the document as it is then, a stale result is re-run or
dropped) all assume one. A picture made from a prompt on an empty window has nothing to edit; it
*is* the document. What that takes is small but touches three places, kept together here:

- the request: the Generate task built from the panel with no input image (a new picture of the
  chosen size; "Vary the open picture" is switched off while nothing is open);
- the worker's side: the result quantized to its bit depth and drawn once, as every landed result
  is (:mod:`~gptstudio.app.history_pixels`), but with no edit to record — there is no "before";
- the landing: a :class:`~gptstudio.app.document.Document` with no file behind it ("Untitled"),
  its parameters as its history, marked unsaved so the close prompt, Save (which asks for a
  path) and autosave/recovery treat it like any unsaved work.

A job is tagged with the session's document generation like any other: opening a file while it
runs cancels it, and a second new picture queued before the first landed is cancelled when the
first opens (one document per window; the status bar says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QImage

from gptstudio.app.document import Document
from gptstudio.app.history_pixels import dequantize, display_qimage, quantize
from gptstudio.core.imageio import ImageData
from gptstudio.core.vocabulary import TASK_LABELS
from gptstudio.tasks.requests import GenerateRequest, Request

if TYPE_CHECKING:
    from gptstudio.app.session import DocumentSession
    from gptstudio.app.task_panel import TaskPanel
    from gptstudio.app.worker import JobOutput


def wants_new_picture(document: Document | None, task: str | None) -> bool:
    """Run with nothing open makes a new picture when the task is Generate (and only then)."""
    return document is None and task == "generate"


def new_picture_request(panel: TaskPanel) -> Request:
    """The panel's Generate request with no input image: a new ``width × height`` picture."""
    request = panel.build_request(None, None)  # type: ignore[arg-type]
    assert isinstance(request, GenerateRequest)
    return replace(request, strength=1.0)  # nothing to vary, whatever the box said


def is_new_picture(request: Request) -> bool:
    return isinstance(request, GenerateRequest) and request.image is None


def quantized(image: ImageData) -> tuple[ImageData, QImage]:
    """The result at its bit depth (exactly what Save will write) and its canvas image.

    Runs in the worker, as :func:`~gptstudio.app.history_pixels.capture` does for edits.
    """
    rgb = quantize(image.rgb, image.bit_depth)
    alpha = None if image.alpha is None else quantize(image.alpha, image.bit_depth)
    exact_rgb = dequantize(rgb, image.rgb if _writable(image.rgb) else None)
    exact_alpha = None
    if alpha is not None:
        exact_alpha = dequantize(alpha, image.alpha if _writable(image.alpha) else None)
    return replace(image, rgb=exact_rgb, alpha=exact_alpha), display_qimage(rgb, alpha)


def _writable(values: np.ndarray | None) -> bool:
    return (
        values is not None
        and values.dtype == np.float32
        and values.flags.writeable
        and values.flags.c_contiguous
    )


def open_new_picture(
    session: DocumentSession,
    panel: TaskPanel,
    output: JobOutput,
    notify: Callable[..., None],
    dropped_jobs: int = 0,
) -> None:
    """Put a finished new picture into the session as an untitled, unsaved document.

    ``dropped_jobs``: how many other jobs were waiting (opening the document cancels them).
    """
    result = output.result
    params = dict(result.params)
    doc = Document(image=result.image, original=result.image, history=[params])
    session.set_document(doc, output.qimage)
    session.recovered_unsaved = True  # no file holds it yet: Save asks where, closing asks first
    session.state_changed.emit()
    task = TASK_LABELS.get(str(params.get("task")), "Result")
    device = str(params.get("device", "")).upper() or "CPU"
    panel.run_box.finish(f"{task} done in {result.seconds:.1f} s on {device}.")
    text = f"{task} done in {result.seconds:.1f} s: a new picture, not saved yet (Ctrl+S)."
    if dropped_jobs:
        text += f" {dropped_jobs} more queued for an empty window were cancelled."
    notify(text, 10000)


def update_panel(panel: TaskPanel, document: Document | None) -> None:
    """Offer "Vary the open picture" only while a picture is open."""
    panel.rows.generate.set_document(document is not None)
