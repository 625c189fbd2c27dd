"""The per-family differences between diffusers pipelines, as one small table.

Why a table and not a class per model: every family runs through the same adapter
(:mod:`~gptstudio.engines.diffusers.engine`); what differs is data — which pipeline class serves
text-to-image, image-to-image and inpainting (and which the family lacks), whether it takes a
negative prompt or a guidance scale, which step callback it honours (aMUSEd and PixArt-Σ ignore
``callback_on_step_end`` and only call the legacy ``callback``), how its sizes are constrained, and
what shape its latents have inside the sampling loop (for the step preview). Adding a family is
adding a row.

Geometry (native resolution, size multiple) is read from the folder's component configs, so an
imported fine-tune or the tiny pipelines of the tests describe themselves, as spandrel's
descriptors do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gptstudio.core.errors import ModelError

#: What a family's pipelines can do, by the catalog's names for them.
MODES = ("text_to_image", "image_to_image", "inpainting")


@dataclass(frozen=True)
class Family:
    """One row of the table."""

    key: str
    label: str
    #: ``_class_name`` values in model_index.json that mean this family.
    index_classes: tuple[str, ...]
    #: Pipeline class per mode; None where the family has none.
    pipelines: Mapping[str, str | None]
    #: True: image-to-image runs the inpainting pipeline with an all-white mask (FLUX.2 klein's
    #: own image-to-image pipeline conditions on a reference image, it does not take a strength).
    variation_via_inpaint: bool = False
    #: True: only the legacy ``callback(step, timestep, latents)`` is called per step.
    legacy_callback: bool = False
    negative_prompt: bool = True
    guidance: bool = True
    #: How the loop's latents look to the step callback: "spatial" (B, C, h, w), "packed"
    #: (B, h*w, C) or "tokens" (B, h, w) of VQ codebook indices.
    latents: str = "spatial"
    #: Published native resolution, used when the configs do not say.
    native: int = 1024
    #: Extra patchification on top of the VAE's downscaling (sizes are multiples of both).
    patch: int = 1
    #: The transformer config key that holds its patch size, when the patching is the model's.
    patch_key: str | None = None
    default_steps: int = 28
    default_guidance: float = 4.5
    #: Extra keyword arguments every call of this family gets.
    call_kwargs: Mapping[str, Any] = field(default_factory=dict)
    supports_half: bool = True
    supports_bf16: bool = True
    #: Index classes of a shared component repository that this family's catalog entry downloads
    #: its text encoder, VAE and model_index.json from, while the transformer comes from its own
    #: repository: PixArt-Σ's published T5 + SDXL-VAE folder still names ``PixArtAlphaPipeline``.
    #: Accepted only when the caller knows which family it downloaded (a catalog entry), never
    #: for a folder a user imports, where that name means a PixArt-α model.
    shared_index_classes: tuple[str, ...] = ()

    @property
    def tasks(self) -> tuple[str, ...]:
        out = ["generate"] if self.pipelines.get("text_to_image") else []
        if self.pipelines.get("inpainting"):
            out.append("inpaint")
        return tuple(out)

    @property
    def can_vary(self) -> bool:
        return bool(self.pipelines.get("image_to_image"))

    def uses(self) -> frozenset[str]:
        """The request parameters this family's models use (the panel shows only these)."""
        out = {"prompt", "seed", "steps", "size"}
        if self.negative_prompt:
            out.add("negative_prompt")
        if self.guidance:
            out.add("guidance")
        if self.can_vary or self.pipelines.get("inpainting"):
            out.add("strength")
        if self.can_vary:
            out.add("variation")
        return frozenset(out)


FAMILIES: tuple[Family, ...] = (
    Family(
        key="amused",
        label="aMUSEd (masked-token Transformer)",
        index_classes=("AmusedPipeline", "AmusedImg2ImgPipeline", "AmusedInpaintPipeline"),
        pipelines={
            "text_to_image": "AmusedPipeline",
            "image_to_image": "AmusedImg2ImgPipeline",
            "inpainting": "AmusedInpaintPipeline",
        },
        legacy_callback=True,
        latents="tokens",
        native=256,
        default_steps=12,
        default_guidance=10.0,
        supports_bf16=True,
    ),
    Family(
        key="flux2-klein",
        label="FLUX.2 [klein] (diffusion Transformer)",
        index_classes=("Flux2KleinPipeline", "Flux2KleinInpaintPipeline"),
        pipelines={
            "text_to_image": "Flux2KleinPipeline",
            "image_to_image": "Flux2KleinInpaintPipeline",
            "inpainting": "Flux2KleinInpaintPipeline",
        },
        variation_via_inpaint=True,
        negative_prompt=False,
        guidance=False,  # the distilled 4B model ignores guidance
        latents="packed",
        patch=2,
        default_steps=4,
        default_guidance=1.0,
    ),
    Family(
        key="sd3",
        label="Stable Diffusion 3.5 (MMDiT)",
        index_classes=(
            "StableDiffusion3Pipeline",
            "StableDiffusion3Img2ImgPipeline",
            "StableDiffusion3InpaintPipeline",
        ),
        pipelines={
            "text_to_image": "StableDiffusion3Pipeline",
            "image_to_image": "StableDiffusion3Img2ImgPipeline",
            "inpainting": "StableDiffusion3InpaintPipeline",
        },
        patch_key="patch_size",
        default_steps=40,
        default_guidance=4.5,
    ),
    Family(
        key="z-image",
        label="Z-Image (single-stream diffusion Transformer)",
        index_classes=("ZImagePipeline", "ZImageImg2ImgPipeline", "ZImageInpaintPipeline"),
        pipelines={
            "text_to_image": "ZImagePipeline",
            "image_to_image": "ZImageImg2ImgPipeline",
            "inpainting": "ZImageInpaintPipeline",
        },
        patch=2,
        default_steps=9,
        default_guidance=0.0,
    ),
    Family(
        key="pixart-sigma",
        label="PixArt-Σ (diffusion Transformer)",
        index_classes=("PixArtSigmaPipeline",),
        pipelines={"text_to_image": "PixArtSigmaPipeline", "image_to_image": None, "inpainting": None},
        legacy_callback=True,
        native=512,
        patch_key="patch_size",
        default_steps=20,
        default_guidance=4.5,
        # our sizes are already what the user asked for, rounded to the model's multiple
        call_kwargs={"use_resolution_binning": False, "clean_caption": False},
        shared_index_classes=("PixArtAlphaPipeline",),
    ),
)
_BY_KEY = {f.key: f for f in FAMILIES}


def get(key: str) -> Family:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ModelError(f"Unknown diffusers family '{key}'. Known: {', '.join(_BY_KEY)}.") from None


def for_index(model_index: Mapping[str, Any], expected: str | None = None) -> Family:
    """The family of a diffusers folder, from its model_index.json ``_class_name``.

    ``expected``: the family a catalog entry promises; its :attr:`Family.shared_index_classes`
    are then accepted too.
    """
    name = str(model_index.get("_class_name", ""))
    if expected is not None and name in get(expected).shared_index_classes:
        return get(expected)
    for family in FAMILIES:
        if name in family.index_classes:
            return family
    known = ", ".join(f.label for f in FAMILIES)
    raise ModelError(
        f"This diffusers folder holds a {name or 'pipeline of unknown kind'}, which GPT Studio cannot run. "
        f"Supported families: {known}."
    )


def vae_scale(vae_config: Mapping[str, Any]) -> int:
    """How many pixels one latent stands for along an edge (2 per down block after the first)."""
    blocks = vae_config.get("block_out_channels") or [0, 0, 0, 0]
    return 2 ** (len(blocks) - 1)


def geometry(family: Family, configs: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """(native resolution, size multiple) from the component configs of a folder.

    ``configs`` maps a component name (``vae``, ``vqvae``, ``transformer``) to its config.json.
    """
    vae = configs.get("vae") or configs.get("vqvae") or {}
    scale = vae_scale(vae)
    transformer = configs.get("transformer") or {}
    patch = family.patch
    if family.patch_key and transformer.get(family.patch_key):
        patch = int(transformer[family.patch_key])
    if family.key == "amused" and transformer.get("downsample"):
        patch = 2  # the U-ViT halves the token grid once
    multiple = max(scale * patch, 1)
    native = family.native
    sample = transformer.get("sample_size")
    if isinstance(sample, int) and sample > 0:
        native = sample * scale
    native = max(multiple, native - native % multiple)
    return native, multiple
