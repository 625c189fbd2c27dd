"""Save, detect and load GIT inpainting weights (safetensors only), in the manner of spandrel.

``detect(state_dict)`` recovers the :class:`GITConfig` from tensor names and shapes, so a weight file
needs no side-car, and anything that is not a GIT is refused with a clear :class:`ModelError`.
Weights are stored in fp16 (half the size; the network runs them in fp32 or bf16), which keeps the
shipped file well under the 20 MB budget.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import torch

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import ModelError
from gptstudio.engines.native.inpaint_arch import GIT, IN_CHANNELS, GITConfig
from gptstudio.engines.native.io import count_indices, read_weights

_REQUIRED = ("embed.weight", "out.weight", "middle.0.attn.qkv.weight", "middle.0.pos.weight")


def detect(state_dict: Mapping[str, torch.Tensor]) -> GITConfig:
    """The configuration a GIT state dict was built with, or :class:`ModelError`."""
    keys = set(state_dict)
    missing = [k for k in _REQUIRED if k not in keys]
    if missing:
        raise ModelError(
            f"These weights are not a GPT Studio inpainting Transformer (GIT): missing {', '.join(missing)}."
        )
    embed = state_dict["embed.weight"]
    if embed.ndim != 4 or embed.shape[1] != IN_CHANNELS * 4 or state_dict["out.weight"].shape[0] != 12:
        raise ModelError("These weights are not a GIT: the entry or exit convolution has the wrong shape.")
    width = int(embed.shape[0])
    levels = count_indices(keys, r"downs\.(\d+)\.conv\.weight$")
    local = tuple(count_indices(keys, rf"encoders\.{i}\.(\d+)\.norm") for i in range(levels))
    mid = width * 2**levels
    hidden2 = int(state_dict["middle.0.ffn.proj_in.weight"].shape[0])
    if state_dict["middle.0.attn.qkv.weight"].shape[0] != 3 * mid:
        raise ModelError("These GIT weights have an attention block of the wrong width.")
    return GITConfig(
        width=width,
        local_blocks=local,
        global_blocks=count_indices(keys, r"middle\.(\d+)\.attn\.qkv\.weight$"),
        ffn_expansion=hidden2 / 2 / mid,
    )


def build(state_dict: Mapping[str, torch.Tensor], heads: int | None = None) -> GIT:
    """A GIT with the detected configuration and these weights (strict: every tensor must fit)."""
    config = detect(state_dict)
    if heads:
        config = GITConfig(**{**config.to_dict(), "global_heads": heads})
    model = GIT(config)
    try:
        model.load_state_dict({k: v.float() for k, v in state_dict.items()}, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"These GIT weights do not fit the detected configuration: {exc}") from exc
    return model.eval()


def load(path: str | os.PathLike[str]) -> tuple[GIT, dict[str, str]]:
    """Load a ``.safetensors`` GIT file; the model (fp32, eval mode) and the file's metadata.

    The head count cannot be read from tensor shapes, so it comes from the file's ``config`` entry.
    """
    state, meta = read_weights(path)
    try:
        heads = int(json.loads(meta.get("config", "{}")).get("global_heads", 0))
    except (ValueError, TypeError, AttributeError):
        heads = 0
    return build(state, heads or None), meta


def save(model: GIT, path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None) -> None:
    """Write the weights (fp16, contiguous) plus the config as safetensors, atomically."""
    from safetensors.torch import save

    state = {k: v.detach().half().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "architecture": "GIT", "config": json.dumps(model.config.to_dict())}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    atomic_write_bytes(path, save(state, metadata=meta))
