"""What a fine-tune task builds for the run: a recipe, its previews, and how its result is stored.

Each task module (``finetune_restore``, ``finetune_inpaint``, ``finetune_lora``) turns the run's
settings and folder into a :class:`Plan`; ``gptstudio.training.finetune`` runs every plan the same
way (events, estimate, loop, registration), so the four tasks differ only in what is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gptstudio.training.loop import Recipe


@dataclass(frozen=True)
class Export:
    """How the trained result goes into the model store (see ``gptstudio.training.register``)."""

    file: str
    engine: str
    architecture: str
    tasks: tuple[str, ...]
    description: str
    detected: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    recipe: Recipe
    #: The base model's id (for the card).
    base: str
    #: What the card calls the recipe, e.g. "finetune-restoration (synthetic camera noise)".
    recipe_name: str
    #: EMA decay of the exported weights (None: the last weights, as for a LoRA).
    ema: float | None
    #: (network, step, folder) -> preview images: [{"path", "label", "psnr"}]
    previews: Callable[[torch.nn.Module, int, Path], list[dict[str, Any]]]
    #: (network, folder, metadata) -> the file written into folder and how to register it.
    export: Callable[[torch.nn.Module, Path, dict[str, str]], Export]
    #: Numbers on the fixed validation set (also the loop's validate).
    validate: Callable[[torch.nn.Module], dict[str, float]]


def save_png(path: Path, rgb: np.ndarray) -> str:
    """Write a uint8 or 0..1 float H×W×3 picture as PNG (atomically); returns the path as text."""
    from PIL import Image

    from gptstudio.core.atomic import atomic_write

    if rgb.dtype != np.uint8:
        rgb = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    atomic_write(path, lambda handle: Image.fromarray(rgb).save(handle, format="PNG"))
    return str(path)


def centre_crop(img: np.ndarray, size: int, multiple: int) -> tuple[slice, slice]:
    """The slices of a centred crop at most ``size`` px, sides a multiple of ``multiple``."""
    h, w = img.shape[:2]
    ch = min(size, h) // multiple * multiple
    cw = min(size, w) // multiple * multiple
    y, x = (h - ch) // 2, (w - cw) // 2
    return slice(y, y + ch), slice(x, x + cw)
