"""Fine-tuning a denoiser or restorer on the user's photos: the shipped GRT, a GRT fine-tune, or an
installed spandrel network with a trainable architecture (3 channels in, same size out).

Two kinds of data: clean photos damaged on the fly by a damage preset (self-supervised; the
preset says which damage the user's pictures have), or real pairs (``--damaged DIR``) cropped at
the same place. Validation uses fixed centre crops of the held-out pictures with fixed damage, so
the numbers before and after training compare the same inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.models.store import Store
from gptstudio.training.data import PatchSampler, random_patch
from gptstudio.training.degrade import MODE_ALL, MODE_DENOISE, DegradationMix
from gptstudio.training.folders import Dataset, Item
from gptstudio.training.plan import Export, Plan, centre_crop, save_png
from gptstudio.training.presets import DAMAGE_PRESETS, DamagePreset
from gptstudio.training.restoration import RestorationRecipe, is_grt, psnr, restore_array
from gptstudio.training.runs import Settings

#: Validation crops: the size of the largest training patch of the shipped recipe, ×2.
VAL_CROP = 192
PREVIEWS = 3


class Damage:
    """``DegradationMix`` plus downscaling, with a damage preset's weights."""

    def __init__(self, p: DamagePreset) -> None:
        total = p.gaussian + p.camera + p.jpeg + p.blur + p.downscale
        self.down = p.downscale / total
        rest = total - p.downscale
        self.mix = (
            DegradationMix(
                p.gaussian, p.camera, p.jpeg, p.blur, sigma_max=p.sigma_max, jpeg_quality=p.jpeg_quality
            )
            if rest > 0
            else None
        )

    def sample(self, clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        if self.mix is None or rng.random() < self.down:
            h, w = clean.shape[:2]
            s = float(rng.uniform(0.5, 0.8))
            small = cv2.resize(
                clean, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
            )
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), MODE_ALL
        return self.mix.sample(clean, rng)


def load_base(base: str, store: Store) -> tuple[torch.nn.Module, str]:
    """The network to start from and its kind ("grt" or "spandrel")."""
    if base == "grt-restoration":
        from gptstudio.engines.native import io, shipped

        return io.load(shipped.WEIGHTS_FILE)[0], "grt"
    model = store.get(base) if store.has(base) else None
    if model is None:
        raise InvalidRequestError(
            f"There is no installed model '{base}' to fine-tune. Use grt-restoration, a previous "
            "fine-tune, or an imported restoration model (`gptstudio models list`)."
        )
    if model.engine == "native" and model.architecture == "native-grt":
        from gptstudio.engines.native import io

        return io.load(model.weights_path())[0], "grt"
    if model.engine == "spandrel":
        from gptstudio.engines.spandrel.detect import load_descriptor
        from gptstudio.engines.spandrel.io import read_state_dict

        desc = load_descriptor(read_state_dict(model.weights_path()))
        if (
            getattr(desc, "scale", 1) != 1
            or getattr(desc, "input_channels", 3) != 3
            or not hasattr(desc, "model")
        ):
            raise ModelError(
                f"'{base}' ({model.architecture}) cannot be fine-tuned here: only restoration networks "
                "that take a picture and return one of the same size can."
            )
        net = desc.model.float()
        for p in net.parameters():
            p.requires_grad_(True)
        _check_trainable(net, base, model.architecture)
        return net, "spandrel"
    raise ModelError(f"'{base}' is a {model.engine} model; it cannot be fine-tuned for restoration.")


def _check_trainable(net: torch.nn.Module, base: str, architecture: str) -> None:
    """One forward and backward on a small picture: a network that needs other inputs (DRUNet's
    noise map) or returns another size cannot learn picture -> picture here."""
    x = torch.rand(1, 3, 32, 32)
    try:
        y = net.train()(x)
        ok = isinstance(y, torch.Tensor) and y.shape == x.shape
        if ok:
            y.mean().backward()
    except (RuntimeError, ValueError, TypeError):
        ok = False
    net.zero_grad(set_to_none=True)
    if not ok:
        raise ModelError(
            f"'{base}' ({architecture}) cannot be fine-tuned here: only restoration networks that take a "
            "picture and return one of the same size can."
        )


def _pairs_draw(items: list[Item], crop: int, batch: int, mode: int) -> Any:
    """Batches of (damaged, clean, mode) crops from matched pairs. ``mode`` is the mode the task
    runs the network in (denoise for ``--task denoise``), so the fine-tune trains the same mode
    embedding that inference uses."""

    def draw(rng: np.random.Generator, progress: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        clean = np.empty((batch, crop, crop, 3), np.uint8)
        damaged = np.empty_like(clean)
        for i in range(batch):
            it = items[int(rng.integers(0, len(items)))]
            both = np.concatenate([it.image, it.damaged], axis=2)  # type: ignore[list-item]
            patch = random_patch(both, crop, rng)  # one crop and flip for both
            clean[i], damaged[i] = patch[..., :3], patch[..., 3:]

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).permute(0, 3, 1, 2).float().div_(255.0)

        return t(damaged), t(clean), torch.full((batch,), mode, dtype=torch.int64)

    return draw


def build(settings: Settings, data: Dataset, device: str, store: Store) -> Plan:
    s = settings
    assert s.crop and s.batch and s.lr and s.warmup is not None
    base = s.base or "grt-restoration"
    net, kind = load_base(base, store)
    multiple = net.config.multiple_of if is_grt(net) else 16  # type: ignore[union-attr]
    crop = max(multiple, s.crop // multiple * multiple)
    train = [it for it in data.train if min(it.image.shape[:2]) >= crop]
    if not train:
        raise InvalidRequestError(f"No training picture is at least {crop} px on each side.")
    mode = MODE_DENOISE if s.task == "denoise" else MODE_ALL
    net = net.to(device)
    if device == "cpu":
        net = net.to(memory_format=torch.channels_last)
    pairs = s.damaged is not None
    damage = Damage(DAMAGE_PRESETS[s.damage])
    shard_items = {"items": train}

    if pairs:
        draw_pairs = {"fn": _pairs_draw(train, crop, s.batch, mode)}

        def draw(rng: np.random.Generator, progress: float) -> Any:
            return draw_pairs["fn"](rng, progress)

        def shard(rank: int, world: int) -> None:
            draw_pairs["fn"] = _pairs_draw(train[rank::world] or train, crop, s.batch, mode)

    else:
        sampler = PatchSampler([it.image for it in train], damage, seed=s.seed)  # type: ignore[arg-type]

        def draw(rng: np.random.Generator, progress: float) -> Any:
            sampler.rng = rng
            return sampler.batch(s.batch, crop)

        def shard(rank: int, world: int) -> None:
            shard_items["items"] = train[rank::world] or train
            sampler.levels = [[it.image for it in shard_items["items"]]]

    # Fixed validation crops and damage (seeded), the same before and after training.
    rng = np.random.default_rng(1234)
    val_items = data.val or data.train[:PREVIEWS]
    fixed: list[tuple[str, np.ndarray, np.ndarray, float]] = []
    for it in val_items:
        ys, xs = centre_crop(it.image, VAL_CROP, multiple)
        clean = np.ascontiguousarray(it.image[ys, xs])
        bad = (
            np.ascontiguousarray(it.damaged[ys, xs])
            if it.damaged is not None
            else damage.sample(clean, rng)[0]
        )
        fixed.append((it.rel, clean, bad, estimate_noise_sigma(bad.astype(np.float32) / 255.0)))

    def run(model: torch.nn.Module, bad: np.ndarray, level: float) -> np.ndarray:
        return restore_array(model, bad, device, mode, level)

    def validate(model: torch.nn.Module) -> dict[str, float]:
        before = [psnr(bad, clean) for _, clean, bad, _ in fixed]
        after = [psnr(run(model, bad, lvl), clean) for _, clean, bad, lvl in fixed]
        return {"val_psnr_input": float(np.mean(before)), "val_psnr": float(np.mean(after))}

    def previews(model: torch.nn.Module, step: int, folder: Path) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, (rel, clean, bad, lvl) in enumerate(fixed[:PREVIEWS]):
            fixed_out = run(model, bad, lvl)
            out.append(
                {
                    "path": save_png(folder / f"{i}-before.png", bad),
                    "label": "before",
                    "source": rel,
                    "psnr": psnr(bad, clean),
                }
            )
            out.append(
                {
                    "path": save_png(folder / f"step{step:06d}-{i}-after.png", fixed_out),
                    "label": "after",
                    "source": rel,
                    "psnr": psnr(fixed_out, clean),
                }
            )
        return out

    def export(model: torch.nn.Module, folder: Path, meta: dict[str, str]) -> Export:
        if kind == "grt":
            from gptstudio.engines.native import io

            io.save(model, folder / "model.safetensors", metadata=meta)  # type: ignore[arg-type]
            return Export(
                "model.safetensors",
                "native",
                "native-grt",
                ("denoise", "restore"),
                "A GRT restoration Transformer fine-tuned on the user's photos.",
            )
        from safetensors.torch import save_file

        from gptstudio.engines.spandrel.detect import detect

        tensors = {k: v.detach().float().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(tensors, str(folder / "model.safetensors"), metadata=meta)
        detected = detect(tensors)
        return Export(
            "model.safetensors",
            "spandrel",
            detected.architecture,
            detected.tasks,
            f"A {detected.architecture} network fine-tuned on the user's photos.",
            detected.to_json(),
        )

    recipe = RestorationRecipe(
        net,
        draw,
        device,
        lr=s.lr,
        warmup=s.warmup,
        clip=0.5,
        shard=shard,
        validators=[lambda model, _device: validate(model)],
    )
    what = f"real pairs from {s.damaged}" if pairs else f"synthetic {s.damage} damage"
    return Plan(recipe, base, f"finetune-restoration ({what})", 0.999, previews, export, validate)
