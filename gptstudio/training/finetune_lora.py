"""LoRA on the installed diffusers Transformer: a generator that knows the user's dog.

peft adds low-rank adapters to the attention projections of the pipeline's Transformer (both
streams of an MMDiT: ``to_q/k/v``, ``to_out.0``, ``add_q/k/v_proj``, ``to_add_out``); only they
learn, with the flow-matching objective the model was trained with: a latent of a photo and noise
mixed at a random time t (logit-normal, as SD3), the network asked for the velocity noise − latent.
Latents and caption embeddings are computed once at the start (the VAE and text encoders never run
in the loop). The result is a small safetensors of the adapters (peft's key names, rank in the
metadata) that ``gptstudio generate --lora NAME --lora-strength S`` applies and removes again.

Captions: the sidecar ``.txt`` beside each photo, else the trigger word for all of them. The
previews are samples of fixed prompts with a fixed seed, so their change over the steps is the
adapter's doing. Families: the SD3 MMDiT (Stable Diffusion 3.5) and Z-Image's single-stream
Transformer; others (aMUSEd's masked-token model, FLUX.2 klein, PixArt-Σ) are refused with a clear
message, since each Transformer takes its inputs, time and target in its own form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gptstudio.core.errors import InvalidRequestError
from gptstudio.models.store import Store
from gptstudio.training.folders import Dataset
from gptstudio.training.loop import OptimSpec, Recipe, StepContext
from gptstudio.training.plan import Export, Plan, save_png
from gptstudio.training.runs import Settings

#: The families whose Transformer step is written here (their call signatures differ).
FAMILIES = ("sd3", "z-image")
TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out")
RANK = 8
ADAPTER_FILE = "lora.safetensors"
PREVIEW_STEPS = 12


def load_pipeline(base: str, store: Store, device: str) -> tuple[Any, Any]:
    """The base model's text-to-image pipeline in fp32 (bf16 on a GPU) and what detection says of it."""
    from gptstudio.engines.diffusers import Detected, families
    from gptstudio.engines.diffusers.offline import go_offline

    if not store.has(base) or store.get(base).engine != "diffusers":
        raise InvalidRequestError(f"'{base}' is not an installed generation model to train a LoRA for.")
    model = store.get(base)
    detected = Detected.from_json(model.detected)
    if detected.family not in FAMILIES:
        raise InvalidRequestError(
            f"LoRA training works with Stable Diffusion 3.5 and Z-Image models; '{base}' is "
            f"{families.get(detected.family).label}."
        )
    go_offline()
    import diffusers

    cls = getattr(diffusers, str(families.get(detected.family).pipelines["text_to_image"]))
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    pipe = cls.from_pretrained(str(model.folder), dtype=dtype, local_files_only=True, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device), detected


def default_base(store: Store) -> str:
    """The generation model a LoRA is trained for when none is named: the best installed one of a
    family LoRA training supports (the generate task's own default may be one it does not)."""
    from gptstudio.engines.diffusers import Detected
    from gptstudio.models import registry

    for info in registry.models_for("generate"):
        if store.has(info.id) and store.get(info.id).engine == "diffusers":
            if Detected.from_json(store.get(info.id).detected).family in FAMILIES:
                return info.id
    raise InvalidRequestError(
        "LoRA training needs an installed Stable Diffusion 3.5 or Z-Image model "
        "(`gptstudio models list --available`); give it with --base."
    )


def _square(img: np.ndarray, size: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    crop = img[y : y + side, x : x + side]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_CUBIC)


class LoraRecipe(Recipe):
    """Flow matching on precomputed latents and caption embeddings; only the adapters learn."""

    def __init__(
        self,
        transformer: torch.nn.Module,
        latents: torch.Tensor,
        embeds: list[tuple[torch.Tensor, ...]],
        device: str,
        lr: float,
        warmup: int,
        batch: int,
        family: str = "sd3",
    ) -> None:
        self.modules = {"model": transformer}
        self.family = family
        self.latents, self.embeds = latents, embeds
        self.device, self.batch = device, batch
        self.spec = OptimSpec("model", lr=lr, warmup=warmup, floor=0.1, weight_decay=1e-4, clip=1.0)
        self.indices = np.arange(len(latents))

    def optimizers(self) -> dict[str, OptimSpec]:
        return {"model": self.spec}

    def shard(self, rank: int, world: int) -> None:
        self.indices = self.indices[rank::world] if len(self.indices) >= world else self.indices

    def sample(self, rng: np.random.Generator, progress: float) -> tuple[torch.Tensor, ...]:
        idx = rng.choice(self.indices, size=self.batch)
        flip = rng.random(self.batch) < 0.5
        lat = self.latents[idx].clone()
        lat[flip] = lat[flip].flip(-1)
        t = 1.0 / (1.0 + np.exp(-rng.standard_normal(self.batch)))  # logit-normal times
        noise = torch.from_numpy(rng.standard_normal(lat.shape).astype(np.float32))
        return flow_batch(lat, noise, torch.from_numpy(t).float(), [self.embeds[i] for i in idx], self.device)

    def loss(self, batch: Any, ctx: StepContext) -> torch.Tensor:
        return flow_loss(ctx.nets["model"], batch, ctx, self.family)


def flow_batch(
    lat: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, embeds: list[tuple[Any, Any]], device: str
) -> tuple[Any, ...]:
    """(latents, noise, times, caption embeddings, pooled embeddings or None) on ``device``."""
    prompts = [e[0].to(device) for e in embeds]
    pooled = [e[1].to(device) for e in embeds] if embeds[0][1] is not None else None
    return lat.to(device), noise.to(device), t.to(device), prompts, pooled


def flow_loss(
    net: torch.nn.Module, batch: tuple[Any, ...], ctx: StepContext | None, family: str
) -> torch.Tensor:
    """MSE between the network's velocity and noise − latent at times t (0 = picture, 1 = noise).

    SD3 takes the batch, the caption and pooled embeddings and t × 1000; Z-Image takes lists of
    C×1×H×W latents and captions, the time as 1 − t, and predicts the negative velocity.
    """
    lat, noise, t, prompts, pooled = batch
    dtype = next(p.dtype for p in net.parameters())
    tt = t.view(-1, 1, 1, 1)
    noisy = ((1.0 - tt) * lat + tt * noise).to(dtype)
    with ctx.autocast() if ctx is not None else torch.no_grad():
        if family == "z-image":
            out = net(
                list(noisy.unsqueeze(2).unbind(0)), 1.0 - t, [p.to(dtype) for p in prompts], return_dict=False
            )[0]
            pred = -torch.stack([o.float() for o in out]).squeeze(2)
        else:
            pred = net(
                hidden_states=noisy,
                encoder_hidden_states=torch.cat(prompts).to(dtype),
                pooled_projections=torch.cat(pooled).to(dtype),
                timestep=t * 1000.0,
                return_dict=False,
            )[0]
    return torch.nn.functional.mse_loss(pred.float(), (noise - lat).float())


def build(settings: Settings, data: Dataset, device: str, store: Store) -> Plan:
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    s = settings
    assert s.crop and s.batch and s.lr and s.warmup is not None
    base = s.base or default_base(store)
    pipe, detected = load_pipeline(base, store, device)
    fam, multiple = detected.family, max(1, detected.multiple)
    size = max(multiple, s.crop // multiple * multiple)
    captions = [it.caption or s.trigger or "" for it in data.items]
    prompts = s.prompts or [s.trigger or captions[0]]

    @torch.no_grad()
    def encode(items: list[Any], caps: list[str]) -> tuple[torch.Tensor, list[tuple[torch.Tensor, ...]]]:
        vae, lat, emb = pipe.vae, [], []
        for it, cap in zip(items, caps, strict=True):
            x = torch.from_numpy(_square(it.image, size)).permute(2, 0, 1)[None].float().div(127.5).sub(1)
            d = vae.encode(x.to(device, vae.dtype)).latent_dist.mean
            lat.append(((d - vae.config.shift_factor) * vae.config.scaling_factor).float().cpu())
            if fam == "z-image":
                e = pipe.encode_prompt(cap, device=device, do_classifier_free_guidance=False)
                emb.append((e[0][0].float().cpu(), None))
            else:
                e = pipe.encode_prompt(cap, cap, cap, device=device, do_classifier_free_guidance=False)
                emb.append((e[0].float().cpu(), e[2].float().cpu()))
        return torch.cat(lat), emb

    n_train = len(data.train)
    latents, embeds = encode(data.items, captions)
    transformer = pipe.transformer
    transformer.requires_grad_(False)
    present = {n.rsplit(".", 1)[-1] for n, _ in transformer.named_modules()} | {
        ".".join(n.split(".")[-2:]) for n, _ in transformer.named_modules()
    }
    config = LoraConfig(
        r=RANK,
        lora_alpha=RANK,
        init_lora_weights="gaussian",
        target_modules=[t for t in TARGETS if t in present],
    )
    transformer.add_adapter(config)
    recipe = LoraRecipe(
        transformer, latents[:n_train], embeds[:n_train], device, s.lr, s.warmup, s.batch, fam
    )
    val_lat, val_emb = (latents[n_train:], embeds[n_train:]) if len(data.val) else (latents[:1], embeds[:1])
    gen = np.random.default_rng(99)
    val_batches = []
    for i in range(len(val_lat)):
        for t in (0.25, 0.5, 0.75):
            noise = torch.from_numpy(gen.standard_normal(val_lat[i : i + 1].shape).astype(np.float32))
            val_batches.append(flow_batch(val_lat[i : i + 1], noise, torch.tensor([t]), [val_emb[i]], device))

    def validate(model: torch.nn.Module) -> dict[str, float]:
        with torch.no_grad():
            losses = [float(flow_loss(model, b, None, fam)) for b in val_batches]
        return {"val_flow_loss": float(np.mean(losses))}

    def previews(model: torch.nn.Module, step: int, folder: Path) -> list[dict[str, Any]]:
        out = []
        for i, prompt in enumerate(prompts[:4]):
            with torch.inference_mode():
                img = pipe(
                    prompt=prompt,
                    num_inference_steps=PREVIEW_STEPS,
                    height=size,
                    width=size,
                    generator=torch.Generator("cpu").manual_seed(s.seed),
                    output_type="np",
                ).images[0]
            path = save_png(folder / f"step{step:06d}-{i}.png", np.asarray(img, dtype=np.float32))
            out.append({"path": path, "label": prompt, "psnr": None})
        return out

    def export(model: torch.nn.Module, folder: Path, meta: dict[str, str]) -> Export:
        from safetensors.torch import save_file

        state = {
            k: v.detach().float().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()
        }
        meta = {
            **meta,
            "format": "gptstudio-lora",
            "family": fam,
            "rank": str(RANK),
            "alpha": str(RANK),
            "base": base,
            "targets": ",".join(config.target_modules),
        }
        save_file(state, str(folder / ADAPTER_FILE), metadata=meta)
        return Export(
            ADAPTER_FILE,
            "lora",
            f"lora-{fam}",
            ("generate",),
            f"A LoRA for {base}: apply with `gptstudio generate --lora ID`.",
            {"family": fam, "base": base, "rank": RANK, "trigger": s.trigger},
        )

    return Plan(recipe, base, f"finetune-lora (rank {RANK}, {fam})", None, previews, export, validate)
