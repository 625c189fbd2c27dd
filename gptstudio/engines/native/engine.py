"""The GRT restoration engine: a loaded network run over tiles, with strength and mode.

* ``mode`` is a real input of the network (a learned per-mode bias, see ``arch``): ``all`` is the
  blind model; ``denoise``, ``jpeg`` and ``deblur`` tell it which damage to expect.
* ``strength`` blends the network's output with the input (0 = untouched, 1 = full restoration).
  A blend is predictable for the user (the grain that is kept looks like the original grain).
* ``noise_level`` (networks trained with the noise-level input): σ in 8-bit levels. By default
  the wavelet estimate of the whole photo, computed once so every tile gets the same level; a user
  raises it to clear heavy real noise that the estimate underrates, or lowers it to keep texture.

The image is processed in overlapping tiles (``gptstudio.core.tiling``) so memory stays bounded
on a 24-megapixel photo; the task state gets progress per tile and may cancel between tiles.
Inference runs under ``torch.inference_mode``: bf16 weights on CPUs with bf16 units (AMX /
AVX512-BF16; ``GPTSTUDIO_CPU_BF16=0`` or ``bf16=False`` turns it off) with the input and the residual
sum kept in fp32, channels-last on the CPU, fp32 on other CPUs, and bf16/fp16 on a GPU.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from gptstudio.core.device import choose_dtype, cpu_bf16_enabled
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import SizeRequirements, pad_to, tiled_apply
from gptstudio.engines.base import RESTORE_MODES, EngineInfo, RestorationEngine
from gptstudio.engines.native.arch import GRT, MODES
from gptstudio.engines.native.inpaint_arch import GIT

NetworkT = TypeVar("NetworkT", bound=torch.nn.Module)


def size_requirements(model: GRT | GIT) -> SizeRequirements:
    """Sides padded to the network's multiple (GRT's or GIT's); at least two multiples so
    convolutions see context."""
    m = model.config.multiple_of
    return SizeRequirements(minimum=2 * m, multiple_of=m)


def place_network(
    model: NetworkT, info: EngineInfo, device: str, bf16: bool | None
) -> tuple[NetworkT, torch.dtype]:
    """One of our networks on ``device`` in eval mode, in the dtype it runs in (bf16 on CPUs with
    bf16 units unless turned off, bf16/fp16 on a GPU, else fp32), channels-last on the CPU."""
    dtype = choose_dtype(
        device,
        supports_half=info.supports_half,
        supports_bf16=info.supports_bf16,
        cpu_bf16=cpu_bf16_enabled(bf16),
    )
    model = model.to(device=device, dtype=dtype).eval()
    if device == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model, dtype


#: Attention window at inference, in full-resolution pixels: the largest training patch, so the
#: attention statistics match what the network learnt from (and tiles agree with whole images).
ATTENTION_WINDOW = 96


class GRTEngine(RestorationEngine):
    """A :class:`GRT` network on a device, serving ``denoise`` and ``restore``.

    The image is reflect-padded to a multiple of the attention grid period and tiles start on
    multiples of it, so every tile sees the same grids as the whole image would.
    """

    def __init__(
        self,
        model: GRT,
        info: EngineInfo,
        device: str = "cpu",
        window: int | None = ATTENTION_WINDOW,
        bf16: bool | None = None,
    ) -> None:
        self.info = info
        self.device = device
        self.model, self.dtype = place_network(model, info, device, bf16)
        self.model.set_attention_window(window)
        self.align = self.model.alignment()

    def _run(self, patch: np.ndarray, mode_index: int, level: float | None) -> np.ndarray:
        # HWC float32 -> a channels-last NCHW view without a copy; the input stays fp32 on the CPU.
        x = torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1)[None]
        x = x.to(device=self.device, dtype=torch.float32 if self.device == "cpu" else self.dtype)
        y = self.model(x, mode_index, level).float().clamp_(0.0, 1.0)
        return y[0].permute(1, 2, 0).cpu().numpy()

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
        if mode not in RESTORE_MODES:
            known = ", ".join(RESTORE_MODES)
            raise InvalidRequestError(f"Unknown restore mode '{mode}'. Use one of: {known}.")
        image = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
        if strength <= 0:
            return image.copy()
        mode_index = MODES.index(mode)
        level = None
        if self.model.config.noise_level:
            level = estimate_noise_sigma(image) if noise_level is None else float(noise_level)
            state.note(noise_sigma=round(level, 2))
        h, w = image.shape[:2]
        a = self.align
        padded = pad_to(image, max(-(-h // a) * a, 2 * a), max(-(-w // a) * a, 2 * a))
        size = self.info.tile if tile is None else tile
        overlap = -(-self.info.overlap // a) * a
        size = max(size // a * a, 2 * overlap + a) if size > 0 else 0
        with torch.inference_mode():
            out = tiled_apply(
                padded,
                lambda patch: self._run(patch, mode_index, level),
                tile=size,
                overlap=overlap,
                req=self.info.size,
                state=state,
            )[:h, :w]
        if strength < 1:
            out = image + float(strength) * (out - image)
        return np.clip(out, 0.0, 1.0, out=out)
