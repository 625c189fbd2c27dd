"""Tiny random community models, built with spandrel's own architecture classes, for the tests.

Each is a real SwinIR / Swin2SR / DRUNet / Real-ESRGAN-compact network with a few thousand
parameters, so spandrel detects it exactly as it detects the published weights, and saved the way
the authors publish theirs: BasicSR's ``{"params_ema": state_dict}`` pickle, or a bare safetensors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file


def tiny_swinir(scale: int = 1) -> torch.nn.Module:
    from spandrel.architectures.SwinIR import SwinIR

    return SwinIR(
        img_size=16,
        in_chans=3,
        window_size=4,
        img_range=1.0,
        depths=[1],
        embed_dim=12,
        num_heads=[2],
        mlp_ratio=2,
        upscale=scale,
        upsampler="pixelshuffledirect" if scale > 1 else "",
        resi_connection="1conv",
    )


def tiny_swin2sr(scale: int = 2) -> torch.nn.Module:
    from spandrel.architectures.Swin2SR import Swin2SR

    return Swin2SR(
        img_size=16,
        in_chans=3,
        window_size=4,
        depths=[1],
        embed_dim=12,
        num_heads=[2],
        mlp_ratio=2,
        upscale=scale,
        upsampler="pixelshuffledirect",
        img_range=1.0,
    )


def tiny_drunet() -> torch.nn.Module:
    from spandrel.architectures.DRUNet import DRUNet

    # Two blocks per level: spandrel's detector looks for the second block's keys.
    return DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=2)


def tiny_compact(scale: int = 4, channels: int = 3) -> torch.nn.Module:
    from spandrel.architectures.Compact import Compact

    return Compact(num_in_ch=channels, num_out_ch=channels, num_feat=8, num_conv=2, upscale=scale)


#: name -> (builder, spandrel architecture name, scale, tasks)
TINY: dict[str, tuple[Callable[[], torch.nn.Module], str, int, tuple[str, ...]]] = {
    "swinir-denoise": (lambda: tiny_swinir(1), "SwinIR", 1, ("denoise", "restore")),
    "swinir-x2": (lambda: tiny_swinir(2), "SwinIR", 2, ("upscale",)),
    "swin2sr-x2": (lambda: tiny_swin2sr(2), "Swin2SR", 2, ("upscale",)),
    "drunet": (tiny_drunet, "DRUNet", 1, ("denoise", "restore")),
    "compact-x4": (lambda: tiny_compact(4), "RealESRGAN Compact", 4, ("upscale",)),
}


def save_as_authors_do(model: torch.nn.Module, folder: Path, stem: str) -> tuple[Path, Path]:
    """``stem.pth`` as BasicSR writes it (``{"params_ema": ...}``) and ``stem.safetensors``."""
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    pth = folder / f"{stem}.pth"
    torch.save({"params_ema": sd}, pth)
    st = folder / f"{stem}.safetensors"
    save_file(sd, str(st))
    return pth, st


def build_all(folder: Path, seed: int = 0) -> dict[str, tuple[Path, Path]]:
    """Every tiny model, seeded, saved both ways under ``folder``."""
    torch.manual_seed(seed)
    return {name: save_as_authors_do(build(), folder, name) for name, (build, *_rest) in TINY.items()}


def register_file(model_id: str, path: Path) -> object:
    """Put a weight file in the shared registry as the model manager would; returns its EngineInfo."""
    from gptstudio.engines.spandrel import detect, engine_info, load_engine, read_state_dict
    from gptstudio.models import registry
    from gptstudio.models.registry import ModelEntry

    info = engine_info(detect(read_state_dict(path)), id=model_id, name=f"{model_id} (tiny, random)")

    def factory(device: str) -> object:
        return load_engine(path, id=model_id, name=info.name, device=device)

    registry.register(ModelEntry(info, factory))
    return info
