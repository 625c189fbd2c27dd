"""Writing the document to disk for Save and Export: the format checks and the encode.

Split from the session so the encode can move off the GUI thread without touching the dialogs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from gptstudio.app.document import Document, save_ora
from gptstudio.app.error_dialog import error_dialog
from gptstudio.core.errors import GptStudioError, ImageWriteError
from gptstudio.core.imageio import SAVE_FORMATS, save_image


class FileWriter(QObject):
    def __init__(self, session: QObject) -> None:
        super().__init__(session)
        self.session = session

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
        try:
            if target.suffix.lower() == ".ora":
                save_ora(doc, target, mask)
            else:
                save_image(doc.image, target, params=doc.save_params(), overwrite=True)
        except GptStudioError as exc:
            return self._fail(exc)
        return True

    def export(self, doc: Document, target: Path) -> bool:
        if target.suffix.lower() not in SAVE_FORMATS:
            return self._fail(
                ImageWriteError(
                    f"Unknown format '{target.suffix}'. Use one of: {', '.join(sorted(SAVE_FORMATS))}."
                )
            )
        try:
            save_image(doc.image, target, params=doc.save_params(), overwrite=True)
        except GptStudioError as exc:
            return self._fail(exc)
        return True
