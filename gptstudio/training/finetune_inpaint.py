"""Fine-tuning the inpainting Transformer (GIT) on the user's photos, with random painted holes.

It runs the shipped recipe's GAN step (``gptstudio.training.inpainting``) from the shipped weights
(or an earlier fine-tune) with the preset's crop, batch and a lower learning rate. The
discriminator starts fresh, so the first 30 % of the steps are on the reconstruction loss alone,
as in the shipped recipe, while it would only add noise. Validation fills fixed holes in fixed
crops of the held-out pictures; the previews show the picture with its hole and the fill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gptstudio.core.errors import InvalidRequestError
from gptstudio.models.store import Store
from gptstudio.training.folders import Dataset
from gptstudio.training.hole_masks import random_hole
from gptstudio.training.inpainting import CropSampler, GanSettings, InpaintRecipe, fill, hole_psnr
from gptstudio.training.plan import Export, Plan, centre_crop, save_png
from gptstudio.training.runs import Settings

VAL_CROP = 256
PREVIEWS = 3


def load_base(base: str, store: Store) -> torch.nn.Module:
    from gptstudio.engines.native import inpaint_io, shipped

    if base == "git-inpaint":
        if not shipped.INPAINT_WEIGHTS_FILE.is_file():
            raise InvalidRequestError(
                "The built-in inpainting weights are not installed; give --base with an inpainting fine-tune."
            )
        return inpaint_io.load(shipped.INPAINT_WEIGHTS_FILE)[0].float()
    if store.has(base):
        model = store.get(base)
        if model.engine == "native" and model.architecture == "native-git":
            return inpaint_io.load(model.weights_path())[0].float()
    raise InvalidRequestError(
        f"'{base}' is not an inpainting Transformer to fine-tune; use git-inpaint or a fine-tune of it."
    )


def build(settings: Settings, data: Dataset, device: str, store: Store) -> Plan:
    from gptstudio.engines.native.inpaint_arch import PatchDiscriminator

    s = settings
    assert s.crop and s.batch and s.lr and s.warmup is not None
    base = s.base or "git-inpaint"
    gen = load_base(base, store)
    for p in gen.parameters():
        p.requires_grad_(True)
    multiple = gen.config.multiple_of  # type: ignore[union-attr]
    smallest = min(min(it.image.shape[:2]) for it in data.train)
    crop = max(multiple, min(s.crop, smallest) // multiple * multiple)
    fmt = torch.channels_last if device == "cpu" else torch.contiguous_format
    gen = gen.to(device, memory_format=fmt)
    disc = PatchDiscriminator().to(device, memory_format=fmt)
    train = data.train
    sampler = CropSampler([it.image for it in train], s.seed, small_share=0.0)

    def draw(rng: np.random.Generator, progress: float) -> Any:
        sampler.rng = rng
        return sampler.batch(s.batch, crop)

    rng = np.random.default_rng(4321)
    fixed = []
    for it in data.val or data.train[:PREVIEWS]:
        ys, xs = centre_crop(it.image, VAL_CROP, multiple)
        clean = it.image[ys, xs].astype(np.float32) / 255.0
        hole = random_hole(clean.shape[0], clean.shape[1], rng, (0.1, 0.25))
        fixed.append((it.rel, clean, hole))

    def validate(model: torch.nn.Module) -> dict[str, float]:
        scores = [hole_psnr(fill(model, clean, hole, device), clean, hole > 0.5) for _, clean, hole in fixed]
        return {"val_hole_psnr": float(np.mean(scores))}

    def previews(model: torch.nn.Module, step: int, folder: Path) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, (rel, clean, hole) in enumerate(fixed[:PREVIEWS]):
            holed = clean * (1.0 - hole[..., None]) + 0.5 * hole[..., None]
            filled = fill(model, clean, hole, device)
            out.append(
                {
                    "path": save_png(folder / f"{i}-before.png", holed),
                    "label": "before",
                    "source": rel,
                    "psnr": hole_psnr(holed, clean, hole > 0.5),
                }
            )
            out.append(
                {
                    "path": save_png(folder / f"step{step:06d}-{i}-after.png", filled),
                    "label": "after",
                    "source": rel,
                    "psnr": hole_psnr(filled, clean, hole > 0.5),
                }
            )
        return out

    def export(model: torch.nn.Module, folder: Path, meta: dict[str, str]) -> Export:
        from gptstudio.engines.native import inpaint_io

        inpaint_io.save(model, folder / "model.safetensors", metadata=meta)  # type: ignore[arg-type]
        return Export(
            "model.safetensors",
            "native",
            "native-git",
            ("inpaint",),
            "The GIT inpainting Transformer fine-tuned on the user's photos.",
        )

    settings_gan = GanSettings(lr=s.lr, d_lr=s.lr * 0.4, warmup=s.warmup)
    recipe = InpaintRecipe(gen, disc, draw, device, settings_gan, (lambda model, _device: validate(model),))

    def shard(rank: int, world: int) -> None:
        sampler.levels = [[it.image for it in (train[rank::world] or train)], []]

    recipe.shard = shard  # type: ignore[method-assign]
    return Plan(recipe, base, "finetune-inpaint (random painted holes)", 0.999, previews, export, validate)
