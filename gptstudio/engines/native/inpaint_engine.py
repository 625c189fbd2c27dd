"""The GIT inpainting engine: our inpainting Transformer filling a hole from its surroundings.

The task hands it a window around the mask already scaled to about the network's working size
(``info.native``), so the engine only pads the window to the network's multiple (reflecting the
edges, which the network saw as ordinary picture), draws the noise channel from the job's seed —
different seeds, different fills where the surroundings leave the content open — and runs the
network on the picture and its mirror image, averaging the two fills (the self-ensemble).
bf16 on CPUs with bf16 units (``GPTSTUDIO_CPU_BF16=0`` turns it off) and on GPUs,
with the input kept fp32 on the CPU; fp32 elsewhere.
"""

from __future__ import annotations

import numpy as np
import torch

from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import pad_to
from gptstudio.engines.base import EngineInfo, InpaintEngine
from gptstudio.engines.native.engine import place_network, size_requirements
from gptstudio.engines.native.inpaint_arch import GIT

__all__ = ["DEFAULT_VARIANTS", "VARIANTS", "GITEngine", "size_requirements"]


def _hflip(t: torch.Tensor) -> torch.Tensor:
    return t.flip(-1)


def _vflip(t: torch.Tensor) -> torch.Tensor:
    return t.flip(-2)


def _rot180(t: torch.Tensor) -> torch.Tensor:
    return t.flip(-2, -1)


def _same(t: torch.Tensor) -> torch.Tensor:
    return t


#: The self-ensemble (EDSR's "+"): the picture, and mirrored copies whose fills are mirrored back
#: and averaged. The network was trained on every flip and rotation of its crops, so each variant
#: is an equally good fill; their mean is a better one (0.1-0.25 dB inside the hole on CBSD68).
VARIANTS = ((_same, _same), (_hflip, _hflip), (_vflip, _vflip), (_rot180, _rot180))
#: Variants used by default: the picture and its mirror image (twice the time of one pass).
DEFAULT_VARIANTS = 2


class GITEngine(InpaintEngine):
    """A :class:`GIT` network on a device, serving ``inpaint`` (and outpaint through it)."""

    def __init__(
        self,
        model: GIT,
        info: EngineInfo,
        device: str = "cpu",
        bf16: bool | None = None,
        variants: int = DEFAULT_VARIANTS,
    ) -> None:
        if not 1 <= variants <= len(VARIANTS):
            raise ValueError(f"variants must be 1..{len(VARIANTS)}")
        self.variants = variants
        self.info = info
        self.device = device
        self.model, self.dtype = place_network(model, info, device, bf16)

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
        state.report(0.0, "Filling the masked area")
        image = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)
        hole = (np.asarray(mask, dtype=np.float32) > 0.5).astype(np.float32)
        h, w = image.shape[:2]
        if not hole.any():
            return image.copy()
        m = self.model.config.multiple_of
        ph, pw = max(-(-h // m) * m, 2 * m), max(-(-w // m) * m, 2 * m)
        padded = pad_to(image, ph, pw)
        padded_hole = np.zeros((ph, pw), np.float32)
        padded_hole[:h, :w] = hole
        noise = np.random.default_rng(seed).standard_normal((ph, pw)).astype(np.float32)
        state.check()
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(padded)).permute(2, 0, 1)[None]
            x = x.to(device=self.device, dtype=torch.float32 if self.device == "cpu" else self.dtype)
            mh = torch.from_numpy(padded_hole)[None, None].to(self.device, x.dtype)
            nz = torch.from_numpy(noise)[None, None].to(self.device, x.dtype)
            y = torch.zeros_like(x, dtype=torch.float32)
            for i, (forward, back) in enumerate(VARIANTS[: self.variants]):
                state.report(i / self.variants, "Filling the masked area")
                xi = forward(x)
                xi = xi.contiguous(memory_format=torch.channels_last) if self.device == "cpu" else xi
                y += back(self.model(xi, forward(mh), forward(nz)).float())
                state.check()
            y = y.div_(self.variants).clamp_(0.0, 1.0)
        out = y[0, :, :h, :w].permute(1, 2, 0).cpu().numpy()
        state.report(1.0, "Done")
        # Outside the hole the network's output means nothing (it was trained to fill the hole):
        # the picture's own pixels go back, so the seam colour match compares real pixels with the fill.
        return np.where(hole[..., None] > 0.5, out, image)
