"""Engines around spandrel descriptors: restoration, upscaling and inpainting with any architecture.

One runner does what every model needs: the descriptor on a device, in eval mode, under
``torch.inference_mode`` (spandrel's masked descriptor does not do that itself), in bf16/fp16 on a
GPU only where the descriptor says the architecture supports it (fp32 on the CPU), grey models
run on each colour channel in turn. On top of it:

* :class:`SpandrelRestoration` (scale 1, ``denoise``/``restore``): overlapping tiles as the shipped
  GRT engine, ``strength`` blends the result with the input; ``mode`` means nothing to these
  single-purpose models and is ignored.
* :class:`SpandrelUpscale` (scale > 1): the same tiles at the model's factor.
* :class:`SpandrelInpaint` (masked models such as LaMa): works on a crop around each masked
  area, grown by enough context, at the model's working resolution; the task composites through
  the feathered mask.

Models whose tiling hint is "discouraged" or "internal" get the whole image (``tile`` 0) unless
memory forces tiles: the task's out-of-memory fallback passes a tile, and on the CPU, where running
out of memory kills the process instead of raising, images above :data:`CPU_WHOLE_PIXELS` are cut
into :data:`CPU_BIG_TILE` tiles, which still hold far more context than these models need.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from gptstudio.core.device import choose_dtype
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import PREVIEW_SIZE, apply_padded, tiled_apply
from gptstudio.engines.base import Engine, EngineInfo, InpaintEngine, RestorationEngine, UpscaleEngine
from gptstudio.engines.spandrel.detect import describe, engine_info, load_descriptor
from gptstudio.engines.spandrel.io import read_state_dict

#: On the CPU a "whole image" run is capped to this many pixels; bigger images use big tiles.
CPU_WHOLE_PIXELS = 2 * 1024 * 1024
CPU_BIG_TILE = 1024
#: Inpainting: context kept around each masked area (at least this many pixels, or half the
#: area's size), and the longest side the model works at (LaMa is trained around 256-512 px).
CONTEXT_MIN = 64
WORK_SIZE = 512
#: More separate masked areas than this are filled in one crop around all of them.
MAX_REGIONS = 16


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, getattr(torch, "OutOfMemoryError", ())) or "out of memory" in str(exc).lower()


class _Runner:
    """A spandrel descriptor on a device, ready for inference."""

    def __init__(self, descriptor: Any, info: EngineInfo, device: str = "cpu") -> None:
        self.descriptor = descriptor
        self.info = info
        self.device = device
        self.dtype = choose_dtype(device, supports_half=info.supports_half, supports_bf16=info.supports_bf16)
        descriptor.to(device=device, dtype=self.dtype)
        descriptor.eval()
        #: The torch module, for callers that measure it (the registry's memory-bounded cache).
        self.model = descriptor.model
        self.channels = int(descriptor.input_channels)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        """``H×W×C`` float32 array -> ``1×C×H×W`` tensor on the model's device and dtype."""
        x = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]
        return x.to(device=self.device, dtype=self.dtype)

    def _call(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The descriptor's forward; falls back to fp32 once if a layer lacks the reduced dtype.

        Some layers have no bf16/fp16 kernel on some devices (LaMa's FFT), although the
        architecture as a whole supports it; the user gets a slower result rather than an error.
        """
        try:
            return self.descriptor(*inputs)
        except (RuntimeError, NotImplementedError) as exc:
            if self.dtype == torch.float32 or _is_oom(exc):
                raise
            self.dtype = torch.float32
            self.descriptor.model.float()
            return self.descriptor(*(t.float() for t in inputs))

    def _forward(self, patch: np.ndarray) -> np.ndarray:
        """One ``h×w×3`` patch through the model -> ``(h*scale)×(w*scale)×3`` float32."""
        with torch.inference_mode():
            x = self._tensor(patch)
            if self.channels == 1:
                y = torch.cat([self._call(x[:, c : c + 1]) for c in range(x.shape[1])], dim=1)
            else:
                y = self._call(x)
            return y[0].float().clamp_(0.0, 1.0).permute(1, 2, 0).cpu().numpy()

    def _tile(self, tile: int | None, height: int, width: int) -> tuple[int, int]:
        """(tile edge, overlap) in pixels for this image; tile 0 = the whole image."""
        m = self.info.size.multiple_of
        overlap = math.ceil(self.info.overlap / m) * m
        size = self.info.tile if tile is None else tile
        if size <= 0:
            if self.device != "cpu" or height * width <= CPU_WHOLE_PIXELS:
                return 0, overlap
            size, overlap = CPU_BIG_TILE, 2 * overlap
        size = max(size // m * m, 2 * overlap + m, self.info.size.minimum)
        return size, overlap

    def _tiled(self, rgb: np.ndarray, tile: int | None, state: TaskState) -> np.ndarray:
        image = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
        h, w = image.shape[:2]
        size, overlap = self._tile(tile, h, w)
        return tiled_apply(
            image,
            self._forward,
            tile=size,
            overlap=overlap,
            req=self.info.size,
            scale=self.info.scale,
            state=state,
        )


class SpandrelRestoration(_Runner, RestorationEngine):
    """A scale-1 image model (denoiser, JPEG or general restoration) for ``denoise``/``restore``."""

    def restore(
        self,
        rgb: np.ndarray,
        *,
        strength: float,
        mode: str,
        state: TaskState,
        tile: int | None = None,
    ) -> np.ndarray:
        image = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
        if strength <= 0:
            return image.copy()
        out = self._tiled(image, tile, state)
        if strength < 1:
            out = image + float(strength) * (out - image)
        return np.clip(out, 0.0, 1.0, out=out)


class SpandrelUpscale(_Runner, UpscaleEngine):
    """A super-resolution model: the image ``info.scale`` times larger."""

    def upscale(self, rgb: np.ndarray, *, state: TaskState, tile: int | None = None) -> np.ndarray:
        return self._tiled(rgb, tile, state)


class SpandrelInpaint(_Runner, InpaintEngine):
    """A masked-image model (LaMa): fills each masked area from a crop around it."""

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
        image = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
        hole = np.asarray(mask) > 0.5
        out = image.copy()
        if not hole.any():
            return out
        boxes = mask_regions(hole)
        preview_step = max(1, math.ceil(max(image.shape[:2]) / PREVIEW_SIZE))
        for i, (y0, y1, x0, x1) in enumerate(boxes):
            state.report(i / len(boxes), f"Filling area {i + 1} of {len(boxes)}")
            crop, crop_hole = image[y0:y1, x0:x1], hole[y0:y1, x0:x1]
            filled = self._fill(crop, crop_hole)
            out[y0:y1, x0:x1] = np.where(crop_hole[:, :, None], filled, crop)
            state.show_preview(out[::preview_step, ::preview_step].copy())
        state.report(1.0, "Done")
        return out

    def _fill(self, crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """The model's fill of one crop, run at no more than :data:`WORK_SIZE` on its long side."""
        h, w = crop.shape[:2]
        factor = min(1.0, WORK_SIZE / max(h, w))
        if factor < 1.0:
            size = (max(1, round(w * factor)), max(1, round(h * factor)))
            small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            # Any pixel that touches the hole is filled: a partly covered pixel would keep some
            # of the object the user wants gone.
            small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 1e-3
        else:
            small, small_hole = crop, hole
        both = np.concatenate([small, small_hole[:, :, None].astype(np.float32)], axis=2)
        result = apply_padded(both, self._masked_forward, self.info.size)
        if factor < 1.0:
            result = cv2.resize(result, (w, h), interpolation=cv2.INTER_CUBIC)
        return np.clip(result, 0.0, 1.0)

    def _masked_forward(self, both: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = self._tensor(both[:, :, :3])
            m = self._tensor((both[:, :, 3:] > 0.5).astype(np.float32))
            y = self._call(x, m)
            return y[0].float().clamp_(0.0, 1.0).permute(1, 2, 0).cpu().numpy()


def mask_regions(hole: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) crops that cover every masked area with context, overlapping ones merged.

    Each connected area gets a margin of half its size (at least :data:`CONTEXT_MIN`), so the model
    sees what surrounds it; areas whose crops touch are filled together.
    """
    height, width = hole.shape
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    areas = [tuple(int(v) for v in row[:4]) for row in stats[1:count]]
    if len(areas) > 16 * MAX_REGIONS:  # speckles everywhere: one crop, without a quadratic merge
        ys, xs = np.nonzero(hole)
        areas = [(int(xs.min()), int(ys.min()), int(xs.max() - xs.min()) + 1, int(ys.max() - ys.min()) + 1)]
    boxes: list[list[int]] = []
    for x, y, bw, bh in areas:
        m = max(CONTEXT_MIN, max(bw, bh) // 2)
        boxes.append([max(0, y - m), min(height, y + bh + m), max(0, x - m), min(width, x + bw + m)])
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]:
                    boxes[i] = [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    if len(boxes) > MAX_REGIONS:
        ys0, ys1, xs0, xs1 = zip(*boxes, strict=True)
        boxes = [[min(ys0), max(ys1), min(xs0), max(xs1)]]
    return [(b[0], b[1], b[2], b[3]) for b in sorted(boxes)]


def build_engine(descriptor: Any, info: EngineInfo, device: str = "cpu") -> Engine:
    """The engine class that fits the descriptor, around it, on ``device``."""
    if "inpaint" in info.tasks:
        return SpandrelInpaint(descriptor, info, device)
    if info.scale > 1:
        return SpandrelUpscale(descriptor, info, device)
    return SpandrelRestoration(descriptor, info, device)


def engine_from_state_dict(
    state_dict: dict[str, torch.Tensor],
    *,
    id: str,
    name: str,
    licence: str = "",
    description: str = "",
    device: str = "cpu",
) -> Engine:
    """Detect and wrap weights already in memory (tests and benchmarks build models this way)."""
    descriptor = load_descriptor(state_dict)
    info = engine_info(describe(descriptor), id=id, name=name, licence=licence, description=description)
    return build_engine(descriptor, info, device)


def load_engine(
    path: Path,
    *,
    id: str,
    name: str,
    licence: str = "",
    description: str = "",
    device: str = "cpu",
) -> Engine:
    """Read a weight file safely, detect its architecture and return the engine on ``device``.

    The :class:`EngineInfo` is built from the loaded descriptor, so it always matches the weights.
    """
    state_dict = read_state_dict(Path(path))
    return engine_from_state_dict(
        state_dict, id=id, name=name, licence=licence, description=description, device=device
    )
