"""Inpainting training on the shared loop: the shipped GIT recipe and the user's fine-tunes.

Random crops get random painted holes (``gptstudio.training.hole_masks``); the generator fills
them and learns from an L1 loss weighted inside the hole and, after a warm-up on L1 alone, a
mask-aware hinge GAN loss from a patch discriminator plus feature matching. Two optimisers: the
generator's is stepped by the loop, the discriminator's by the step itself (``manual``), which is
why :class:`InpaintRecipe` overrides :meth:`Recipe.step`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gptstudio.training.data import downscale, random_patch
from gptstudio.training.hole_masks import random_hole
from gptstudio.training.loop import OptimSpec, Recipe, StepContext


@dataclass(frozen=True)
class GanSettings:
    """The loss weights and the optimisers' settings of the inpainting recipe."""

    lr: float = 5e-4
    d_lr: float = 2e-4
    warmup: int = 200
    #: Fraction of training on L1 alone before the discriminator joins.
    gan_start: float = 0.3
    hole_weight: float = 5.0
    #: Weight of the raw output outside the hole, where inference never uses it. Weighted like the
    #: hole (the v1 recipe), it forced the output's residual to step from the picture's value to 0
    #: at the hole's edge, which the 2×-unshuffled network can only do smoothly: a dark one-pixel
    #: outline inside every hole (−8 levels on average). A small weight keeps it tame, not exact.
    known_weight: float = 0.1
    adv_weight: float = 0.01
    fm_weight: float = 0.1
    floor: float = 0.02
    clip: float = 1.0


class CropSampler:
    """Random crops of in-memory photos (as they are, or downscaled 0.6×) with random holes."""

    def __init__(self, images: list[np.ndarray], seed: int, small_share: float = 0.3) -> None:
        self.rng = np.random.default_rng(seed)
        self.small_share = small_share
        self.levels = [images, [downscale(im, 0.6) for im in images] if small_share > 0 else []]

    def batch(self, size: int, crop: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(clean N×3×C×C in 0..1, hole N×1×C×C, noise N×1×C×C)."""
        imgs = np.empty((size, crop, crop, 3), np.uint8)
        holes = np.empty((size, 1, crop, crop), np.float32)
        for i in range(size):
            level = self.levels[0] if self.rng.random() < 1.0 - self.small_share else self.levels[1]
            usable = [im for im in level if min(im.shape[:2]) >= crop] or [
                im for im in self.levels[0] if min(im.shape[:2]) >= crop
            ]
            imgs[i] = random_patch(usable[int(self.rng.integers(0, len(usable)))], crop, self.rng)
            holes[i, 0] = random_hole(crop, crop, self.rng)
        noise = self.rng.standard_normal(holes.shape).astype(np.float32)
        clean = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div_(255.0)
        return clean, torch.from_numpy(holes), torch.from_numpy(noise)


def hole_psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """PSNR in dB of two float 0..1 images, optionally only over ``where`` (H×W bool)."""
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = float(d[where].mean()) if where is not None else float(d.mean())
    return 99.0 if mse == 0 else 10.0 * math.log10(1.0 / mse)


class InpaintRecipe(Recipe):
    """Generator ``model`` + discriminator ``disc``; ``draw(rng, progress)`` gives the batches."""

    def __init__(
        self,
        gen: torch.nn.Module,
        disc: torch.nn.Module,
        draw: Any,
        device: str,
        settings: GanSettings = GanSettings(),
        validators: tuple[Any, ...] = (),
    ) -> None:
        self.modules = {"model": gen, "disc": disc}
        self.draw, self.device, self.s = draw, device, settings
        self.validators = validators
        self.fmt = torch.channels_last if device == "cpu" else torch.contiguous_format

    def optimizers(self) -> dict[str, OptimSpec]:
        s = self.s
        return {
            "model": OptimSpec("model", lr=s.lr, warmup=s.warmup, floor=s.floor, clip=s.clip),
            "disc": OptimSpec(
                "disc", lr=s.d_lr, floor=s.floor, betas=(0.5, 0.99), weight_decay=0.0, manual=True
            ),
        }

    def sample(self, rng: np.random.Generator, progress: float) -> tuple[torch.Tensor, ...]:
        clean, hole, noise = (t.to(self.device) for t in self.draw(rng, progress))
        return clean.contiguous(memory_format=self.fmt), hole, noise

    def reconstruction_loss(
        self, pred: torch.Tensor, clean: torch.Tensor, hole: torch.Tensor
    ) -> torch.Tensor:
        """L1 over the whole composited picture (the known pixels put back, as inference does),
        the hole weighted ``1 + hole_weight``, plus ``known_weight`` × L1 of the raw output
        outside the hole."""
        err = (pred - clean).abs()
        weight = (1.0 + self.s.hole_weight) * hole + self.s.known_weight * (1.0 - hole)
        return (err * weight).mean()

    def step(self, batch: Any, ctx: StepContext) -> dict[str, float]:
        """One discriminator step (once the GAN has started), then the generator's losses."""
        clean, hole, noise = batch
        gen, disc = ctx.nets["model"], ctx.nets["disc"]
        gan = ctx.progress >= self.s.gan_start
        gen.train()
        out: dict[str, float] = {}
        with ctx.autocast():
            pred = gen(clean, hole, noise)
        pred = pred.float()
        fake = pred * hole + clean * (1.0 - hole)
        if gan:
            disc.train()
            with ctx.autocast():
                real_score, _ = disc(clean, hole)
                fake_score, _ = disc(fake.detach(), hole)
            small = F.interpolate(hole, size=fake_score.shape[-2:], mode="area")
            d_loss = (
                F.relu(1.0 - real_score.float()).mean()
                + (F.relu(1.0 + fake_score.float()) * small).mean()
                + (F.relu(1.0 - fake_score.float()) * (1.0 - small)).mean()
            )
            ctx.optims["disc"].zero_grad(set_to_none=True)
            ctx.backward(d_loss)
            ctx.update("disc")
            out["d"] = d_loss.item()
        rec = self.reconstruction_loss(pred, clean, hole)
        loss = rec
        out["l1"] = rec.item()
        if gan:
            for p in disc.parameters():
                p.requires_grad_(False)
            with ctx.autocast():
                fake_score, fake_feats = disc(fake, hole)
                with torch.no_grad():
                    _, real_feats = disc(clean, hole)
            adv = -(fake_score.float() * small).mean()
            fm = sum(
                (f.float() - r.float()).abs().mean() for f, r in zip(fake_feats, real_feats, strict=True)
            ) / len(fake_feats)
            loss = loss + self.s.adv_weight * adv + self.s.fm_weight * fm
            out["adv"], out["fm"] = adv.item(), float(fm.detach())
            for p in disc.parameters():
                p.requires_grad_(True)
        ctx.backward(loss)
        out["loss"] = float(loss.detach())
        return out

    def validate(self, ema: torch.nn.Module, ctx: StepContext) -> dict[str, float]:
        out: dict[str, float] = {}
        for v in self.validators:
            out.update(v(ema, self.device))
        return out


@torch.inference_mode()
def fill(model: torch.nn.Module, clean: np.ndarray, hole: np.ndarray, device: str) -> np.ndarray:
    """The generator's picture for a float H×W×3 crop and its H×W hole (for validation/previews)."""
    model.eval()
    x = torch.from_numpy(clean).permute(2, 0, 1)[None].to(device)
    m = torch.from_numpy(hole.astype(np.float32))[None, None].to(device)
    return model(x, m).clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
