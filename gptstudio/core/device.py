"""Device, dtype and seed choice, so every entry point picks hardware the same way.

Order: an explicit option, then the ``GPTSTUDIO_DEVICE`` environment variable, then CUDA, then
Apple's MPS, then the CPU. Half precision is used only on a GPU and only where the engine says it
supports it. torch is imported lazily: the classical engines and the GUI start without it.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np

from gptstudio.core.errors import InvalidRequestError

ENV_DEVICE = "GPTSTUDIO_DEVICE"
VALID_DEVICES = ("auto", "cpu", "cuda", "mps")


def choose_device(preference: str | None = None) -> str:
    """Return 'cuda', 'cuda:N', 'mps' or 'cpu' for the given preference (or the environment's)."""
    pref = (preference or os.environ.get(ENV_DEVICE) or "auto").strip().lower()
    base = pref.split(":")[0]
    if base not in VALID_DEVICES:
        raise InvalidRequestError(f"Unknown device '{pref}'. Use one of: {', '.join(VALID_DEVICES)}.")
    if base == "cpu":
        return "cpu"
    import torch

    if base in ("auto", "cuda") and torch.cuda.is_available():
        return pref if base == "cuda" else "cuda"
    mps = getattr(torch.backends, "mps", None)
    if base in ("auto", "mps") and mps is not None and mps.is_available():
        return "mps"
    if base != "auto":
        raise InvalidRequestError(f"The device '{pref}' was requested but is not available here.")
    return "cpu"


def choose_dtype(device: str, *, supports_half: bool, supports_bf16: bool = False) -> Any:
    """float32 on the CPU; bf16 or fp16 on a GPU when the engine supports it."""
    import torch

    if device.startswith("cuda"):
        if supports_bf16 and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if supports_half:
            return torch.float16
    if device == "mps" and supports_half:
        return torch.float16
    return torch.float32


def describe_device(device: str) -> str:
    """A short human name for the status bar: 'CPU (8 threads)' or the GPU's name."""
    if device == "cpu":
        return f"CPU ({os.cpu_count() or 1} threads)"
    if device.startswith("cuda"):
        import torch

        return f"GPU: {torch.cuda.get_device_name(torch.device(device))}"
    if device == "mps":
        return "GPU: Apple Metal"
    return device


def seed_everything(seed: int | None) -> int:
    """Seed Python, NumPy and torch (if loaded) and return the seed used, so runs repeat."""
    if seed is None or seed < 0:
        seed = random.SystemRandom().randrange(0, 2**31 - 1)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    return seed
