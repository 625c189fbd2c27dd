"""Writing the document to disk for Save and Export: the format checks and the encode.

The encode (seconds for a 24-MP PNG) runs on a :class:`BackgroundRunner` thread while the GUI
keeps its event loop and shows the busy indicator; the caller still gets the outcome before going
on, because "Save, then close" must not close on a failed save. Closing waits for the thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from gptstudio.app.background import BackgroundRunner
from gptstudio.app.document import Document, save_ora
from gptstudio.app.error_dialog import error_dialog
from gptstudio.core.errors import GptStudioError, ImageWriteError
from gptstudio.core.imageio import SAVE_FORMATS, save_image


class FileWriter(QObject):
    def __init__(self, session: QObject) -> None:
        super().__init__(session)
        self.session = session
        self.runner = BackgroundRunner("gptstudio-save", self)

    def _write(self, fn: Callable[[], object]) -> bool:
        if self.runner.is_busy():
            return self._fail(ImageWriteError("The previous save is still being written; try again."))
        ok, value = self.runner.run_and_wait(fn)
        if ok:
            return True
        if isinstance(value, GptStudioError):
            return self._fail(value)
        return self._fail(ImageWriteError(f"The file could not be written: {value}"))

    def _fail(self, error: GptStudioError) -> bool:
        error_dialog(self.session.widget, error)  # type: ignore[attr-defined]
        return False

    def save(self, doc: Document, target: Path, mask: np.ndarray | None) -> bool:
        if target.suffix.lower() not in (".ora", ".png"):
            return self._fail(
                ImageWriteError(
                    "Save writes OpenRaster (.ora) or PNG files (they keep the parameters); "
                    "use Export for other formats."
                )
            )
        if target.suffix.lower() == ".ora":
            return self._write(lambda: save_ora(doc, target, mask))
        image, params = doc.image, doc.save_params()  # as it is now, whatever lands meanwhile
        return self._write(lambda: save_image(image, target, params=params, overwrite=True))

    def export(self, doc: Document, target: Path) -> bool:
        if target.suffix.lower() not in SAVE_FORMATS:
            return self._fail(
                ImageWriteError(
                    f"Unknown format '{target.suffix}'. Use one of: {', '.join(sorted(SAVE_FORMATS))}."
                )
            )
        image, params = doc.image, doc.save_params()  # as it is now, whatever lands meanwhile
        return self._write(lambda: save_image(image, target, params=params, overwrite=True))
