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
#: ``0`` turns bf16 on the CPU off (``1`` forces it on, for testing the bf16 path anywhere).
ENV_CPU_BF16 = "GPTSTUDIO_CPU_BF16"
#: /proc/cpuinfo flags of CPUs whose matrix or vector units compute in bf16 natively (Intel Cooper
#: Lake and Sapphire Rapids onwards, AMD Zen 4 onwards). Without them bf16 is emulated and slower.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
VALID_DEVICES = ("auto", "cpu", "cuda", "mps")


def _requested(preference: str | None) -> tuple[str, str]:
    """The preference and where it came from, for messages that tell the user what to change."""
    if preference and preference.strip():
        return preference.strip().lower(), "requested"
    env = os.environ.get(ENV_DEVICE, "").strip()
    if env:
        return env.lower(), f"set in {ENV_DEVICE}"
    return "auto", "automatic"


def check_device_name(preference: str | None) -> str:
    """Validate a device name without touching hardware; returns it normalised ('auto' if none)."""
    pref, origin = _requested(preference)
    base, _, index = pref.partition(":")
    if base not in VALID_DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise InvalidRequestError(
            f"Unknown device '{pref}' ({origin}). Use one of: {', '.join(VALID_DEVICES)}, or cuda:N."
        )
    return pref


def choose_device(preference: str | None = None) -> str:
    """Return 'cuda', 'cuda:N', 'mps' or 'cpu' for the given preference (or the environment's).

    An explicit preference wins over ``GPTSTUDIO_DEVICE``, which wins over the automatic order
    CUDA, MPS, CPU. A GPU that was asked for but is missing is an error, not a silent CPU run,
    so the user knows why a job is slow.
    """
    pref = check_device_name(preference)
    _, origin = _requested(preference)
    base, _, index = pref.partition(":")
    if base == "cpu":
        return "cpu"
    import torch

    if base in ("auto", "cuda") and torch.cuda.is_available():
        if index and int(index) >= torch.cuda.device_count():
            raise InvalidRequestError(
                f"The device '{pref}' ({origin}) does not exist; this computer has "
                f"{torch.cuda.device_count()} CUDA GPU(s), numbered from 0."
            )
        return pref if base == "cuda" else "cuda"
    mps = getattr(torch.backends, "mps", None)
    if base in ("auto", "mps") and mps is not None and mps.is_available():
        return "mps"
    if base == "cuda":
        raise InvalidRequestError(
            f"The device '{pref}' ({origin}) is not available: no CUDA GPU is usable here (no NVIDIA "
            f"GPU, no driver, or a CPU-only installation). Choose 'cpu' or 'auto'."
        )
    if base == "mps":
        raise InvalidRequestError(
            f"The device 'mps' ({origin}) is not available: Apple Metal needs a Mac with Apple "
            f"silicon or a supported GPU. Choose 'cpu' or 'auto'."
        )
    return "cpu"


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 in hardware (AMX-BF16 or AVX512-BF16 on x86 Linux).

    Only a hardware unit makes bf16 faster than fp32; elsewhere oneDNN emulates it and it is slower,
    so any doubt (another OS, an unreadable /proc) answers no and the CPU stays in fp32.
    """
    if cpuinfo is None:
        from pathlib import Path

        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return any(f in flags for f in CPU_BF16_FLAGS)
    return False


def cpu_bf16_enabled(option: bool | None = None) -> bool:
    """Use bf16 on the CPU? An explicit option, then ``GPTSTUDIO_CPU_BF16``, then the hardware."""
    if option is not None:
        return option
    env = os.environ.get(ENV_CPU_BF16, "").strip().lower()
    if env in ("0", "no", "off", "false"):
        return False
    if env in ("1", "yes", "on", "true"):
        return True
    return cpu_has_bf16()


def choose_dtype(
    device: str, *, supports_half: bool, supports_bf16: bool = False, cpu_bf16: bool = False
) -> Any:
    """float32 on the CPU unless ``cpu_bf16`` (the engine runs well in bf16 there and the CPU has
    bf16 units); bf16 or fp16 on a GPU when the engine supports it."""
    import torch

    if device == "cpu" and supports_bf16 and cpu_bf16:
        return torch.bfloat16
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


def cpu_name() -> str:
    """The processor's marketing name (Linux /proc/cpuinfo), else what ``platform`` knows.

    Model cards and benchmark tables record it, since every speed number depends on it.
    """
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
