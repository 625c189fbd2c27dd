"""What every engine declares and offers, so tasks, the CLI and the GUI treat them alike.

An engine is a loaded model (or a classical method) plus an :class:`EngineInfo` descriptor: which
tasks it serves, its size requirements and tiling hints, which dtypes it supports, and which
request parameters it actually uses (the GUI shows only those controls).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import SizeRequirements
from gptstudio.core.vocabulary import RESTORE_MODES, TASKS

# The task vocabulary lives in core.vocabulary (one place for every layer); it is re-exported here
# for the engines, models and callers that have always imported it from this module.
__all__ = [
    "RESTORE_MODES",
    "TASKS",
    "Engine",
    "EngineInfo",
    "GenerateEngine",
    "InpaintEngine",
    "RestorationEngine",
    "UpscaleEngine",
]


@dataclass(frozen=True)
class EngineInfo:
    """A descriptor of an engine, independent of its weights being loaded."""

    id: str
    name: str
    tasks: tuple[str, ...]
    architecture: str
    description: str = ""
    size: SizeRequirements = field(default_factory=SizeRequirements)
    scale: int = 1
    supports_half: bool = False
    supports_bf16: bool = False
    #: Preferred tile edge in pixels on the CPU (0 = process whole images) and tile overlap.
    tile: int = 512
    overlap: int = 32
    #: Request parameters this engine uses: strength, mode, prompt, negative_prompt, seed, steps,
    #: guidance. The GUI hides controls for the others.
    uses: frozenset[str] = frozenset()
    licence: str = ""
    #: Devices the engine can run on; classical OpenCV methods are CPU-only.
    devices: tuple[str, ...] = ("cpu", "cuda", "mps")
    #: The resolution a generative model was trained at (0 = none): an inpaint crops around the
    #: mask and scales the crop to about this size, a variation runs at about this size.
    native: int = 0
    #: Number of weights (0 = unknown); the memory estimate shown before a run starts from it.
    parameters: int = 0


class RestorationEngine(ABC):
    """Image in, image out of the same size (denoise, restore)."""

    info: EngineInfo

    @abstractmethod
    def restore(
        self,
        rgb: np.ndarray,
        *,
        strength: float,
        mode: str,
        state: TaskState,
        tile: int | None = None,
        noise_level: float | None = None,
    ) -> np.ndarray:
        """Return a cleaned float32 ``H×W×3`` image; check ``state`` between tiles or steps.

        ``noise_level`` (σ, 8-bit levels; None = estimate it) is passed only to engines whose
        ``info.uses`` names it, so engines without the control need not accept it."""


class InpaintEngine(ABC):
    """Fill the masked area (1 = fill) of an image."""

    info: EngineInfo

    @abstractmethod
    def inpaint(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        *,
        prompt: str,
        negative_prompt: str,
        seed: int,
        steps: int,
        guidance: float,
        strength: float,
        state: TaskState,
    ) -> np.ndarray:
        """Return a float32 ``H×W×3`` image; only the masked area is kept by the task."""


class UpscaleEngine(ABC):
    """Image in, image ``info.scale`` times larger out; the task resizes to any other factor.

    A model has one native factor (``info.scale`` of 2, 4 ...). An engine that resamples to any
    size in one step (the classical Lanczos) declares ``info.scale == 1`` and implements
    :meth:`upscale_to`, so the task asks it for the exact size instead of chaining resizes.
    """

    info: EngineInfo

    @abstractmethod
    def upscale(self, rgb: np.ndarray, *, state: TaskState, tile: int | None = None) -> np.ndarray:
        """Return a float32 ``(H*scale)×(W*scale)×3`` image; check ``state`` between tiles."""

    def upscale_to(
        self, rgb: np.ndarray, width: int, height: int, *, state: TaskState, tile: int | None = None
    ) -> np.ndarray:
        """Return the image resampled to exactly ``height×width`` (only for ``info.scale == 1``)."""
        raise NotImplementedError(f"{type(self).__name__} upscales only by its native factor")


class GenerateEngine(ABC):
    """A picture from a prompt, or a variation of a picture (``init`` with ``strength`` < 1)."""

    info: EngineInfo

    @abstractmethod
    def generate(
        self,
        *,
        prompt: str,
        negative_prompt: str,
        width: int,
        height: int,
        seed: int,
        steps: int,
        guidance: float,
        state: TaskState,
        init: np.ndarray | None = None,
        strength: float = 1.0,
    ) -> np.ndarray:
        """Return a float32 ``height×width×3`` image; ``init`` (float ``H×W×3``, already at
        ``height×width``) is the picture to vary, kept more the lower ``strength`` is."""


Engine = RestorationEngine | InpaintEngine | UpscaleEngine | GenerateEngine
