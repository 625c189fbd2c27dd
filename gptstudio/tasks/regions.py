"""Masks from regions: select an object (GrabCut, or Segment Anything when one is installed), the
magic wand, and grow / shrink / feather — the Qt-free work behind the editor's region tools.

Why an object per image (:class:`RegionSession`): the person clicks many times on one photo, and
each click must answer quickly. The session keeps what every click needs and would otherwise
recompute — the photo as uint8 and grey, and the Segment Anything image embedding, computed on
the first click and reused until the image changes. The editor keeps one session on its region
thread and drops it when another result lands on the image.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from gptstudio.core.errors import ModelError
from gptstudio.core.imagedata import ImageData
from gptstudio.core.progress import TaskState
from gptstudio.core.selection import Patch, magic_wand, refine_upsampled, trimmed
from gptstudio.engines.segment import ObjectPrompt
from gptstudio.engines.segment.grabcut import grabcut_select
from gptstudio.models.store import Store, StoredModel

#: The catalog's task and engine names for segmentation models.
SEGMENT_TASK = "segment"
SEGMENT_ENGINE = "transformers"
#: "Select object" method when no model is chosen.
GRABCUT = "grabcut"
BAND = 512


def installed_segmenters(store: Store | None = None) -> list[StoredModel]:
    """Segment Anything models in the store (downloaded through the model manager)."""
    store = store if store is not None else Store()
    return [m for m in store.list() if m.engine == SEGMENT_ENGINE and SEGMENT_TASK in m.tasks]


_loaded: dict[tuple[str, str], object] = {}
_load_lock = threading.Lock()


def load_segmenter(model_id: str, store: Store | None = None, device: str = "cpu") -> object:
    """The SAM model ``model_id`` from the store, loaded once (one kept: they are hundreds of MB)."""
    from gptstudio.engines.segment.sam import SamSegmenter

    store = store if store is not None else Store()
    key = (str(store.root / model_id), device)
    with _load_lock:
        if key not in _loaded:
            model = store.get(model_id)
            if model.engine != SEGMENT_ENGINE:
                raise ModelError(f"'{model_id}' is not a Segment Anything model.")
            _loaded.clear()
            _loaded[key] = SamSegmenter.load(model.folder, device)
        return _loaded[key]


def rgb8_of(image: ImageData) -> np.ndarray:
    """The image as uint8 ``H×W×3`` (rounded like saving does), converted in bands of rows."""
    h = image.height
    out = np.empty((h, image.width, 3), np.uint8)
    for y in range(0, h, BAND):
        band = image.rgb[y : y + BAND] * np.float32(255.0)
        band += np.float32(0.5)
        np.clip(band, 0.0, 255.0, out=band)
        out[y : y + BAND] = band
    return out


@dataclass(eq=False)
class RegionSession:
    """One image's region work; not thread-safe (the editor uses it from one thread).

    ``segmenter`` is a loaded :class:`~gptstudio.engines.segment.sam.SamSegmenter` or None
    (GrabCut). ``embeddings`` counts the encoder runs, so a test can see it ran once.
    """

    image: ImageData
    segmenter: object | None = None

    def __post_init__(self) -> None:
        self._rgb8: np.ndarray | None = None
        self._grey: np.ndarray | None = None
        self._embedding: object | None = None
        self.embeddings = 0

    @property
    def rgb8(self) -> np.ndarray:
        if self._rgb8 is None:
            self._rgb8 = rgb8_of(self.image)
        return self._rgb8

    @property
    def grey(self) -> np.ndarray:
        if self._grey is None:
            self._grey = cv2.cvtColor(self.rgb8, cv2.COLOR_RGB2GRAY).astype(np.float32) / np.float32(255.0)
        return self._grey

    def prepare(self, state: TaskState | None = None) -> None:
        """Do the per-image work now (the SAM encoder), so the first click is as quick as the rest."""
        _ = self.grey
        if self.segmenter is not None and self._embedding is None:
            self._embedding = self.segmenter.embed(self.rgb8, state)  # type: ignore[attr-defined]
            self.embeddings += 1

    def select_object(self, prompt: ObjectPrompt, state: TaskState | None = None) -> Patch:
        """The object the prompt shows, as a patch of the image."""
        state = state or TaskState()
        if self.segmenter is None:
            return grabcut_select(self.rgb8, prompt, self.grey, state=state)
        self.prepare(state)
        prob = self.segmenter.predict(self._embedding, prompt)  # type: ignore[attr-defined]
        return self._full_resolution(prob)

    def _full_resolution(self, prob: np.ndarray) -> Patch:
        """The model's work-size probability enlarged to the photo inside the object's box (plus
        a margin), edges refined against the photo."""
        h, w = self.image.height, self.image.width
        ph, pw = prob.shape
        rows, cols = np.flatnonzero((prob > 0.5).any(axis=1)), np.flatnonzero((prob > 0.5).any(axis=0))
        if rows.size == 0:
            return Patch(0, 0, np.zeros((0, 0), np.uint8))
        sy, sx = h / ph, w / pw
        y0, y1 = max(0, int((rows[0] - 2) * sy)), min(h, int(np.ceil((rows[-1] + 3) * sy)))
        x0, x1 = max(0, int((cols[0] - 2) * sx)), min(w, int(np.ceil((cols[-1] + 3) * sx)))
        # the work-size crop matching the full-size box, resampled by the refinement
        wy0, wy1 = int(y0 / sy), max(int(np.ceil(y1 / sy)), int(y0 / sy) + 1)
        wx0, wx1 = int(x0 / sx), max(int(np.ceil(x1 / sx)), int(x0 / sx) + 1)
        alpha = refine_upsampled(prob[wy0:wy1, wx0:wx1], self.grey[y0:y1, x0:x1], radius=max(2, round(sx)))
        return trimmed(alpha, x0, y0)

    def wand(self, x: int, y: int, tolerance: float, contiguous: bool) -> Patch:
        return magic_wand(self.rgb8, x, y, tolerance, contiguous)
