"""Tiny random diffusers pipelines for the tests, one per family the catalog ships.

After diffusers' own ``get_dummy_components``: every network is a few kilobytes of random weights
built from a small config, and every tokenizer is constructed here from an in-code vocabulary (a
CLIP vocab.json + merges.txt written to disk, a T5-style Unigram and a Qwen-style chat tokenizer
built with the ``tokenizers`` library), so nothing is downloaded. :func:`save_pipeline` writes a
real diffusers folder with ``save_pretrained`` — model_index.json, one folder per component — that
the importer and the engine then treat like any folder a user brings.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch

#: Every family the catalog ships, by the name ``engines.diffusers.families`` gives it.
FAMILIES = ("amused", "flux2-klein", "sd3", "z-image", "pixart-sigma")
#: A prompt's characters all have tokens; anything else is <unk>.
CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-"
QWEN_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def clip_tokenizer() -> Any:
    """CLIPTokenizer from a character vocabulary and an empty merges file written here."""
    from transformers import CLIPTokenizer

    folder = Path(tempfile.mkdtemp(prefix="clip-vocab-"))
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in CHARS:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16)


def _unigram(specials: list[str], eos: str) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    pieces = [(s, 0.0) for s in specials] + [(c, -1.0) for c in CHARS] + [("▁", -1.0)]
    tok = Tokenizer(models.Unigram(pieces, unk_id=specials.index("<unk>")))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    if eos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"$A {eos}", special_tokens=[(eos, specials.index(eos))]
        )
    return tok


def t5_tokenizer() -> Any:
    from transformers import T5TokenizerFast

    tok = _unigram(["<pad>", "</s>", "<unk>"], "</s>")
    return T5TokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0
    )


def qwen_tokenizer() -> Any:
    """A chat tokenizer with Qwen's template markers, as FLUX.2 klein and Z-Image call it."""
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<unk>", "<|im_start|>", "<|im_end|>", "\n"]
    tok = _unigram(specials, "")
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|endoftext|>",
        unk_token="<unk>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=QWEN_TEMPLATE,
    )


def _clip_encoder(vocab: int, hidden: int = 32, projection: int = 32) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=hidden, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=vocab, projection_dim=projection,
        max_position_embeddings=77,
    )  # fmt: skip
    torch.manual_seed(0)
    return CLIPTextModelWithProjection(config)


def _t5_encoder(vocab: int, d_model: int = 32) -> Any:
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=vocab, d_model=d_model, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    return T5EncoderModel(config)


def _qwen3(vocab: int, causal: bool) -> Any:
    """FLUX.2 klein reads hidden states 9, 18 and 27: its encoder needs that many (tiny) layers."""
    from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3Model

    config = Qwen3Config(
        hidden_size=16, intermediate_size=16, num_hidden_layers=28 if causal else 2, num_attention_heads=2,
        num_key_value_heads=2, head_dim=8, vocab_size=vocab, max_position_embeddings=512,
    )  # fmt: skip
    torch.manual_seed(0)
    return Qwen3ForCausalLM(config) if causal else Qwen3Model(config)


def amused() -> Any:
    from diffusers import AmusedPipeline, AmusedScheduler, UVit2DModel, VQModel

    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    transformer = UVit2DModel(
        hidden_size=8, use_bias=False, hidden_dropout=0.0, cond_embed_dim=8, micro_cond_encode_dim=2,
        micro_cond_embed_dim=10, encoder_hidden_size=8, vocab_size=32, codebook_size=8, in_channels=8,
        block_out_channels=8, num_res_blocks=1, downsample=True, upsample=True, block_num_heads=1,
        num_hidden_layers=1, num_attention_heads=1, attention_dropout=0.0, intermediate_size=8,
        layer_norm_eps=1e-06, ln_elementwise_affine=True,
    )  # fmt: skip
    torch.manual_seed(0)
    vqvae = VQModel(
        act_fn="silu", block_out_channels=[8], down_block_types=["DownEncoderBlock2D"], in_channels=3,
        latent_channels=8, layers_per_block=1, norm_num_groups=8, num_vq_embeddings=8, out_channels=3,
        sample_size=8, up_block_types=["UpDecoderBlock2D"], mid_block_add_attention=False,
        lookup_from_codebook=True,
    )  # fmt: skip
    return AmusedPipeline(
        vqvae=vqvae,
        tokenizer=tokenizer,
        text_encoder=_clip_encoder(len(tokenizer), hidden=8, projection=8),
        transformer=transformer,
        scheduler=AmusedScheduler(mask_token_id=31),
    )


def flux2_klein() -> Any:
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )

    tokenizer = qwen_tokenizer()
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=48, timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4], guidance_embeds=False,
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKLFlux2(
        sample_size=32, in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",), block_out_channels=(4,), layers_per_block=1,
        latent_channels=1, norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False,
    )  # fmt: skip
    return Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=_qwen3(len(tokenizer), causal=True),
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=True,
    )


def sd3() -> Any:
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )

    clip = clip_tokenizer()
    t5 = t5_tokenizer()
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=32, patch_size=1, in_channels=16, num_layers=1, attention_head_dim=8,
        num_attention_heads=4, caption_projection_dim=32, joint_attention_dim=32,
        pooled_projection_dim=64, out_channels=16,
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKL(
        sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4,), layers_per_block=1,
        latent_channels=16, norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False,
        shift_factor=0.0609, scaling_factor=1.5035,
    )  # fmt: skip
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=_clip_encoder(len(clip)),
        tokenizer=clip,
        text_encoder_2=_clip_encoder(len(clip)),
        tokenizer_2=clip_tokenizer(),
        text_encoder_3=_t5_encoder(len(t5)),
        tokenizer_3=t5,
    )


def z_image() -> Any:
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        ZImagePipeline,
        ZImageTransformer2DModel,
    )

    tokenizer = qwen_tokenizer()
    torch.manual_seed(0)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,), all_f_patch_size=(1,), in_channels=16, dim=32, n_layers=2,
        n_refiner_layers=1, n_heads=2, n_kv_heads=2, norm_eps=1e-5, qk_norm=True, cap_feat_dim=16,
        rope_theta=256.0, t_scale=1000.0, axes_dims=[8, 4, 4], axes_lens=[256, 128, 128],
    )  # fmt: skip
    with torch.no_grad():  # created with torch.empty: NaN on some machines (as diffusers' tests say)
        transformer.x_pad_token.copy_(torch.ones_like(transformer.x_pad_token))
        transformer.cap_pad_token.copy_(torch.ones_like(transformer.cap_pad_token))
    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], block_out_channels=[8, 16],
        layers_per_block=1, latent_channels=16, norm_num_groups=8, sample_size=32,
        scaling_factor=0.3611, shift_factor=0.1159,
    )  # fmt: skip
    return ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=_qwen3(len(tokenizer), causal=False),
        tokenizer=tokenizer,
        transformer=transformer,
    )


def pixart_sigma() -> Any:
    from diffusers import (
        AutoencoderKL,
        DPMSolverMultistepScheduler,
        PixArtSigmaPipeline,
        PixArtTransformer2DModel,
    )

    t5 = t5_tokenizer()
    torch.manual_seed(0)
    transformer = PixArtTransformer2DModel(
        sample_size=8, num_layers=2, patch_size=2, attention_head_dim=8, num_attention_heads=3,
        caption_channels=32, in_channels=4, cross_attention_dim=24, out_channels=8, attention_bias=True,
        activation_fn="gelu-approximate", num_embeds_ada_norm=1000, norm_type="ada_norm_single",
        norm_elementwise_affine=False, norm_eps=1e-6,
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKL(
        sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4,), layers_per_block=1,
        latent_channels=4, norm_num_groups=1, scaling_factor=0.13025,
    )  # fmt: skip
    return PixArtSigmaPipeline(
        tokenizer=t5, text_encoder=_t5_encoder(len(t5)), vae=vae, transformer=transformer.eval(),
        scheduler=DPMSolverMultistepScheduler(),
    )  # fmt: skip


BUILDERS = {
    "amused": amused,
    "flux2-klein": flux2_klein,
    "sd3": sd3,
    "z-image": z_image,
    "pixart-sigma": pixart_sigma,
}


def save_pipeline(family: str, folder: Path) -> Path:
    """Build the tiny pipeline of ``family`` and write it as a diffusers folder; returns the folder."""
    pipe = BUILDERS[family]()
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


_BUILT: dict[str, Path] = {}


def folder(family: str) -> Path:
    """The tiny pipeline of ``family`` as a diffusers folder, built once per test session."""
    if family not in _BUILT:
        _BUILT[family] = save_pipeline(family, Path(tempfile.mkdtemp(prefix=f"tiny-{family}-")))
    return _BUILT[family]


def install(family: str, model_id: str | None = None) -> str:
    """Import the tiny ``family`` pipeline into the test's store, like a user's folder; its id."""
    from gptstudio.models import registry
    from gptstudio.models.importer import import_file
    from gptstudio.models.store import Store

    model = import_file(folder(family), Store(), model_id=model_id or f"tiny-{family}")
    registry.refresh()
    return model.id


def train_lora(base: str, folder: Path, name: str = "dog") -> str:
    """A LoRA for the installed ``base``, trained for one step on two pictures with a trigger word,
    as ``gptstudio train --task generate`` makes one; its store id."""
    import numpy as np
    from PIL import Image

    from gptstudio.training import finetune
    from gptstudio.training.runs import Settings

    folder.mkdir(parents=True)
    for i in range(2):
        y, x = np.mgrid[0:48, 0:48]
        rgb = np.dstack([x * 5, y * 5, np.full_like(x, 90 * i)]).astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"{i}.png")
    settings = Settings(task="generate", data=str(folder), name=name, base=base, preset="quick", steps=1,
                        crop=32, lr=5e-2, trigger="sks dog")  # fmt: skip
    return str(finetune.run(settings, log=lambda _: None)["model_id"])


@pytest.fixture(autouse=True)
def one_torch_thread() -> Any:
    """Run the tiny networks on one thread (modules that import this fixture get it).

    Their layers are a few kilobytes: a second thread only adds the thread pool's hand-offs,
    which on a busy machine cost more than the arithmetic (a tiny FLUX.2 klein variation takes
    3.8 s on two threads and 0.6 s on one). The pictures do not depend on the thread count.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
