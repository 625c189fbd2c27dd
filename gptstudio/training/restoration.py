"""Restoration training on the shared loop: the shipped GRT recipe and the user's fine-tunes.

A :class:`RestorationRecipe` learns damaged -> clean with a Charbonnier loss. Where the batches
come from is given by the caller (``draw``): random patches with synthetic damage for the shipped
recipe and self-supervised fine-tunes, aligned crops of real pairs for a pair folder. The network
is a GRT (which also takes the damage type and the noise level) or any spandrel restoration
network (image in, image out).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from gptstudio.training.loop import OptimSpec, Recipe, StepContext
from gptstudio.training.noise_levels import label_noise_levels
from gptstudio.training.precision import memory_format

#: ``draw(rng, progress)`` -> (damaged, clean, mode indices), N×3×P×P float tensors in 0..1.
Draw = Callable[[np.random.Generator, float], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """A smooth L1 loss: robust like L1 (sharper results than L2), differentiable at zero."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB between two images on the same scale (``peak`` 255 for uint8, 1 for floats)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(peak**2 / mse)


def is_grt(model: torch.nn.Module) -> bool:
    """GRT networks take (image, mode, noise level); spandrel networks take the image only."""
    from gptstudio.engines.native.arch import GRT

    return isinstance(model, GRT)


class RestorationRecipe(Recipe):
    """One network, one AdamW, damaged -> clean; see the module docstring.

    ``validators`` are called with (EMA network, device) and return named numbers for the log and
    the model card; they never choose the exported weights.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        draw: Draw,
        device: str,
        *,
        lr: float,
        warmup: int,
        clip: float = 0.5,
        floor: float = 0.01,
        validators: Sequence[Callable[[torch.nn.Module, str], dict[str, float]]] = (),
        shard: Callable[[int, int], None] | None = None,
    ) -> None:
        self.modules = {"model": model}
        self.draw, self.device = draw, device
        self.spec = OptimSpec("model", lr=lr, warmup=warmup, floor=floor, clip=clip)
        self.validators = list(validators)
        self.grt = is_grt(model)
        self._shard = shard

    def optimizers(self) -> dict[str, OptimSpec]:
        return {"model": self.spec}

    def shard(self, rank: int, world: int) -> None:
        if self._shard is not None:
            self._shard(rank, world)

    def sample(self, rng: np.random.Generator, progress: float) -> tuple[torch.Tensor, ...]:
        noisy, clean, modes = self.draw(rng, progress)
        levels = label_noise_levels(noisy, clean, rng)
        noisy = noisy.to(self.device, memory_format=memory_format(self.device))
        return noisy, clean.to(self.device), modes.to(self.device), levels.to(self.device)

    def loss(self, batch: Any, ctx: StepContext) -> torch.Tensor:
        noisy, clean, modes, levels = batch
        model = ctx.nets["model"]
        model.train()
        with ctx.autocast():
            pred = model(noisy, modes, levels) if self.grt else model(noisy)
        return charbonnier(pred.float(), clean)

    def validate(self, ema: torch.nn.Module, ctx: StepContext) -> dict[str, float]:
        out: dict[str, float] = {}
        for v in self.validators:
            out.update(v(ema, self.device))
        return out


@torch.inference_mode()
def restore_array(
    model: torch.nn.Module, damaged: np.ndarray, device: str, mode: int = 0, level: float | None = None
) -> np.ndarray:
    """Run a training network on one uint8 H×W×3 image (sides padded to the network's multiple by
    reflection, then cropped back); returns uint8. For validation and previews, not the app."""
    model.eval()
    h, w = damaged.shape[:2]
    x = torch.from_numpy(damaged).permute(2, 0, 1)[None].float().div(255).to(device)
    multiple = model.config.multiple_of if is_grt(model) else 16  # type: ignore[union-attr]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
    y = model(x, mode, level) if is_grt(model) else model(x)
    y = y[..., :h, :w].float().clamp(0, 1)[0].permute(1, 2, 0).mul(255).round().byte().cpu().numpy()
    return np.ascontiguousarray(y)
