"""The GIT inpainting engine: our inpainting Transformer filling a hole from its surroundings.

The task hands it a window around the mask already scaled to about the network's working size
(``info.native``), so the engine only pads the window to the network's multiple (reflecting the
edges, which the network saw as ordinary picture), draws the noise channel from the job's seed —
different seeds, different fills where the surroundings leave the content open — and runs the
network on the picture, a copy shifted by half the period of its faint 8-pixel grid and the
mirror images of both, averaging the fills (the self-ensemble). The band of the fill next to the
known pixels is then healed with a classical continuation of them (``heal_seam``), and the fill's
broad shading is settled toward the harmonic fill of the rim, entirely where the surroundings are
smooth (``settle``; both in ``inpaint_finish``). bf16 on CPUs with bf16 units
(``GPTSTUDIO_CPU_BF16=0`` turns it off) and on GPUs, with the input kept fp32 on the CPU; fp32
elsewhere.
"""

from __future__ import annotations

import numpy as np
import torch

from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import pad_to
from gptstudio.engines.base import EngineInfo, InpaintEngine
from gptstudio.engines.native.engine import place_network, size_requirements
from gptstudio.engines.native.inpaint_arch import GIT
from gptstudio.engines.native.inpaint_finish import SEAM_BAND, heal_seam, rim_fill, settle

__all__ = ["DEFAULT_VARIANTS", "VARIANTS", "GITEngine", "size_requirements"]


#: Offset (pixels) of the shifted variants: half the period of the faint 8-pixel grid the network
#: draws into a large fill (its 1/8-scale features pixel-shuffled back up), so the shifted fill
#: carries that grid in opposite phase and the average cancels it.
SHIFT = 4
#: The self-ensemble (EDSR's "+"), as (rows, columns, mirrored): the picture, the picture shifted by
#: SHIFT pixels down and right, and the mirror images of both; each fill is brought back and the
#: fills are averaged. The network was trained on every flip of its crops, so each variant is an
#: equally good fill. Measured on McMaster and CBSD432 photos with 10-25 % holes (not the
#: benchmark's CBSD68): the 8-pixel grid's amplitude went from 2.6 to 1.3 levels, PSNR inside the
#: hole from 19.25 (the picture and its mirror, as v2 shipped) to 19.55 dB.
VARIANTS = ((0, 0, False), (SHIFT, SHIFT, False), (0, 0, True), (SHIFT, SHIFT, True))
#: Variants used by default: all four (four times the time of one pass, about 1 s at 512² on a
#: 2-core CPU); the first two alone give most of the gain (19.50 dB) at half the time.
DEFAULT_VARIANTS = 4


class GITEngine(InpaintEngine):
    """A :class:`GIT` network on a device, serving ``inpaint`` (and outpaint through it)."""

    def __init__(
        self,
        model: GIT,
        info: EngineInfo,
        device: str = "cpu",
        bf16: bool | None = None,
        variants: int = DEFAULT_VARIANTS,
        seam_band: int = SEAM_BAND,
        settled: bool = True,
    ) -> None:
        if not 1 <= variants <= len(VARIANTS):
            raise ValueError(f"variants must be 1..{len(VARIANTS)}")
        self.variants = variants
        self.seam_band = seam_band
        self.settled = settled
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
        # One noise field in the picture's coordinates, so every variant sees the same noise at
        # the same pixel (a variant shifted by SHIFT reads it SHIFT pixels up and left).
        size = (max(h, 2 * m) + SHIFT + m, max(w, 2 * m) + SHIFT + m)
        noise = np.random.default_rng(seed).standard_normal(size).astype(np.float32)
        state.check()
        y = np.zeros((h, w, 3), np.float32)
        with torch.inference_mode():
            for i, (dy, dx, mirrored) in enumerate(VARIANTS[: self.variants]):
                state.report(i / self.variants, "Filling the masked area")
                y += self._fill(image, hole, noise, dy, dx, mirrored)
                state.check()
        y = np.clip(y / self.variants, 0.0, 1.0, out=y)
        rim = rim_fill(image, hole > 0.5) if self.seam_band > 0 or self.settled else None
        out = heal_seam(image, hole, y, self.seam_band, rim)
        if self.settled:
            out = np.clip(settle(image, hole, out, rim), 0.0, 1.0)
        state.report(1.0, "Done")
        # Outside the hole the network's output means nothing (it was trained to fill the hole):
        # the picture's own pixels go back, so the seam colour match compares real pixels with the fill.
        return np.where(hole[..., None] > 0.5, out, image)

    def _fill(
        self, image: np.ndarray, hole: np.ndarray, noise: np.ndarray, dy: int, dx: int, mirrored: bool
    ) -> np.ndarray:
        """One pass of the network on the picture padded by ``dy``/``dx`` at the top/left (and to
        the network's multiple at the bottom/right, reflecting the edges, which the network saw
        as ordinary picture, and the hole with them), mirrored if asked; the fill for the
        picture's own H×W×3 pixels."""
        h, w = hole.shape
        m = self.model.config.multiple_of
        ph, pw = max(-(-(h + dy) // m) * m, 2 * m), max(-(-(w + dx) // m) * m, 2 * m)
        planes = np.concatenate(
            [
                pad_to(image, ph, pw, top=dy, left=dx),
                # The hole is padded by the same rule as the picture: a mirrored pixel of the hole is
                # a hole too, or the object being removed would come back through the padding.
                pad_to(hole[..., None], ph, pw, top=dy, left=dx),
                noise[SHIFT - dy : SHIFT - dy + ph, SHIFT - dx : SHIFT - dx + pw, None],
            ],
            axis=2,
        )
        t = torch.from_numpy(planes).permute(2, 0, 1)[None]
        t = t.to(device=self.device, dtype=torch.float32 if self.device == "cpu" else self.dtype)
        if mirrored:
            t = t.flip(-1)
        if self.device == "cpu":
            t = t.contiguous(memory_format=torch.channels_last)
        out = self.model(t[:, :3], t[:, 3:4], t[:, 4:5]).float()
        if mirrored:
            out = out.flip(-1)
        return out[0, :, dy : dy + h, dx : dx + w].permute(1, 2, 0).cpu().numpy()
