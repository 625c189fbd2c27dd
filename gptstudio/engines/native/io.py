"""Save, detect and load GRT weights (safetensors only), in the manner of spandrel.

``detect(state_dict)`` recovers the :class:`GRTConfig` from the tensor names and shapes alone, so
a weight file needs no side-car to be loaded, and anything that is not a GRT is refused with a
clear :class:`ModelError` instead of a shape-mismatch traceback. Loading never unpickles: only
``safetensors`` files are read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import ModelError
from gptstudio.engines.native.arch import GRT, GRTConfig

_REQUIRED = ("embed.weight", "mode_embed.weight", "out.weight", "middle.0.attn.qkv.weight")


def count_indices(keys: set[str], pattern: str) -> int:
    """How many numbered modules a state dict holds: one more than the largest index that
    ``pattern``'s first group captures (0 when none matches)."""
    rx = re.compile(pattern)
    found = [int(m.group(1)) for k in keys if (m := rx.match(k))]
    return max(found) + 1 if found else 0


def _count_blocks(keys: set[str], prefix: str) -> int:
    return count_indices(keys, re.escape(prefix) + r"\.(\d+)\.attn\.qkv\.weight$")


def detect(state_dict: Mapping[str, torch.Tensor]) -> GRTConfig:
    """Return the configuration a GRT state dict was built with, or raise :class:`ModelError`."""
    keys = set(state_dict)
    missing = [k for k in _REQUIRED if k not in keys]
    if missing:
        raise ModelError(
            f"These weights are not a GPT Studio restoration Transformer (GRT): missing {', '.join(missing)}."
        )
    embed = state_dict["embed.weight"]
    if embed.ndim != 4 or embed.shape[1] != 12 or state_dict["out.weight"].shape[0] != 12:
        raise ModelError("These weights are not a GRT: the entry or exit convolution has the wrong shape.")
    width = int(embed.shape[0])
    levels = 0
    while f"encoders.{levels}.0.attn.qkv.weight" in keys or f"downs.{levels}.conv.weight" in keys:
        levels += 1
    enc = tuple(_count_blocks(keys, f"encoders.{i}") for i in range(levels))
    # Decoders are stored deepest first; config lists them shallow first like the encoders.
    dec = tuple(_count_blocks(keys, f"decoders.{levels - 1 - i}") for i in range(levels))
    heads = []
    for i in range(levels):
        prefix = f"encoders.{i}.0" if enc[i] else f"decoders.{levels - 1 - i}.0"
        t = state_dict.get(f"{prefix}.attn.temperature")
        heads.append(int(t.shape[0]) if t is not None else 1)
    heads.append(int(state_dict["middle.0.attn.temperature"].shape[0]))
    hidden2 = int(state_dict["middle.0.ffn.proj_in.weight"].shape[0])
    mid_ch = width * 2**levels
    config = GRTConfig(
        width=width,
        enc_blocks=enc,
        mid_blocks=_count_blocks(keys, "middle"),
        dec_blocks=dec,
        heads=tuple(heads),
        ffn_expansion=hidden2 / 2 / mid_ch,
        modes=int(state_dict["mode_embed.weight"].shape[0]),
        noise_level="noise_embed.0.weight" in keys,
    )
    return config


def build(state_dict: Mapping[str, torch.Tensor]) -> GRT:
    """A GRT with the detected configuration and these weights (strict: every tensor must fit)."""
    config = detect(state_dict)
    model = GRT(config)
    try:
        model.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as exc:
        raise ModelError(f"These GRT weights do not fit the detected configuration: {exc}") from exc
    return model.eval()


def load(path: str | os.PathLike[str]) -> tuple[GRT, dict[str, str]]:
    """Load a ``.safetensors`` GRT file; return the model (fp32, eval mode) and the file metadata."""
    state, meta = read_weights(path)
    model = build({k: v.float() for k, v in state.items()})
    return model, meta


def read_weights(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a ``.safetensors`` file (never a pickle), or :class:`ModelError`
    saying what is wrong with the file; shared by our networks' loaders."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    p = Path(path)
    if p.suffix != ".safetensors":
        raise ModelError(f"{p.name}: only .safetensors weight files are loaded (they cannot run code).")
    if not p.is_file():
        raise ModelError(f"The weight file {p} does not exist.")
    try:
        state = load_file(str(p))
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"Cannot read the weight file {p.name}: {exc}") from exc
    return state, meta


def save(model: GRT, path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None) -> None:
    """Write the model's weights (fp32, contiguous) plus its config as safetensors, atomically."""
    from safetensors.torch import save

    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "architecture": "GRT", "config": json.dumps(model.config.to_dict())}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    atomic_write_bytes(path, save(state, metadata=meta))
