"""Opening images off the GUI thread: decoding a 24-megapixel JPEG takes seconds, and the window
must keep painting and answering meanwhile.

:func:`load_document` does the work (decode, convert to a QImage, read the mask) and never raises
for bad input: it returns what went wrong, for the window to show. :class:`ImageLoader` runs it on a
short-lived background thread and hands the outcome back to the GUI thread through a queued signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from gptstudio.app.background import BackgroundRunner
from gptstudio.app.convert import rgb_to_qimage
from gptstudio.app.document import Document, open_document
from gptstudio.app.mask_layer import mask_image
from gptstudio.core.errors import GptStudioError
from gptstudio.core.masks import load_mask


@dataclass
class LoadOutcome:
    path: Path
    document: Document | None = None
    qimage: QImage | None = None
    #: The tinted mask layer, built here so the GUI thread only swaps it in.
    mask_image: QImage | None = None
    error: GptStudioError | None = None
    mask_error: GptStudioError | None = None


def load_document(path: str | Path, mask: str | Path | None = None) -> LoadOutcome:
    """Decode an image (and its mask) into everything the canvas needs."""
    outcome = LoadOutcome(Path(path))
    try:
        state = open_document(path)  # an .ora brings its original, mask and history too
        outcome.document = state.document
        outcome.qimage = rgb_to_qimage(outcome.document.image.rgb, outcome.document.image.alpha)
    except GptStudioError as exc:
        outcome.error = exc
        return outcome
    except MemoryError:
        outcome.error = GptStudioError(f"There is not enough memory to open {Path(path).name}.")
        return outcome
    alpha = state.mask
    if mask is not None:
        try:
            values = load_mask(mask, outcome.document.image.size)
            alpha = (np.clip(values, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        except GptStudioError as exc:
            outcome.mask_error = exc
    outcome.mask_image = mask_image(*outcome.document.image.size, alpha)
    return outcome


class ImageLoader(QObject):
    """One load at a time on a :class:`BackgroundRunner`; ``loaded`` arrives in the GUI thread."""

    loaded = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = BackgroundRunner("gptstudio-open", self)
        self.runner.done.connect(self.loaded)

    def busy(self) -> bool:
        return self.runner.is_busy()

    def start(self, path: str | Path, mask: str | Path | None = None) -> bool:
        return self.runner.start(lambda: load_document(path, mask))

    def wait(self, timeout: float | None = None) -> bool:
        return self.runner.wait(timeout)
