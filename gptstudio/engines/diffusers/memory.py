"""How much memory a generation needs, and where the pipeline goes: dtype, device, CPU offload.

Why an estimate and not a measurement: the user should see "about 9.4 GB" before pressing Run, and
the engine must decide on model CPU offload before it loads anything. Weights cost their parameter
count times the dtype's bytes; the activations of one step grow with the image's pixels (attention
over the latent tokens, the VAE's full-resolution feature maps when decoding). The activation term
is a deliberately generous rule of thumb — about 2 GB per megapixel in half precision — because
an estimate that is too low is the one that hurts. On the CPU the process itself counts too: Python
with torch, diffusers and transformers imported holds about 0.77 GB before any weight is loaded,
and ``benchmarks/bench_generate.py`` measures the peak beside this estimate.

On the CPU the pipeline runs in bf16 where the CPU has bf16 units (``GPTSTUDIO_CPU_BF16`` decides,
as for the restoration engine): aMUSEd then takes about 0.55× the fp32 CPU time per step and 0.6×
the memory (BENCHMARKS.md, "Generate"); elsewhere fp32, and bf16 only when fp32 weights would not fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from gptstudio.engines.diffusers.families import Family

_GB = 1_000_000_000
#: Activations of one step per megapixel in 16-bit; fp32 doubles it.
_ACTIVATION_PER_MP_16BIT = 2 * _GB
#: On the CPU: the Python process with its libraries (0.77 GB measured) and the first step's scratch.
_CPU_RUNTIME = 1_200_000_000
#: On a GPU: the CUDA context and the allocator's workspace.
_GPU_RUNTIME = 300_000_000
#: On a GPU, offload when the estimate is above this share of the free memory.
GPU_HEADROOM = 0.9
#: On the CPU, fall back to bf16 when fp32 weights would take more than this share of the RAM.
CPU_FP32_SHARE = 0.5


def dtype_bytes(name: str) -> int:
    return 4 if name in ("float32", "fp32") else 2


def estimate_bytes(parameters: int, dtype: str, width: int, height: int, device: str = "cpu") -> int:
    """Bytes to run one generation of ``width×height`` with ``parameters`` weights in ``dtype``."""
    size = dtype_bytes(dtype)
    activations = _ACTIVATION_PER_MP_16BIT * (width * height / 1e6) * size / 2
    runtime = _CPU_RUNTIME if device == "cpu" else _GPU_RUNTIME
    return int(parameters * size + activations + runtime)


def cpu_dtype(supports_bf16: bool) -> str:
    """The dtype a pipeline runs in on this CPU when its fp32 weights fit (see :func:`choose`)."""
    from gptstudio.core.device import cpu_bf16_enabled

    return "bfloat16" if supports_bf16 and cpu_bf16_enabled() else "float32"


def estimate_for(parameters: int, supports_bf16: bool, width: int, height: int, device: str = "cpu") -> int:
    """What a run on ``device`` will need, in the dtype it will run in (shown before Run)."""
    dtype = cpu_dtype(supports_bf16) if device == "cpu" else "bfloat16"
    return estimate_bytes(parameters, dtype, width, height, device)


def describe_bytes(n: int) -> str:
    return f"about {n / _GB:.1f} GB" if n >= 100_000_000 else f"about {max(n, 1) / 1e6:.0f} MB"


def total_ram() -> int:
    """Physical memory of this computer in bytes (0 when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass(frozen=True)
class Placement:
    """Where and how a pipeline runs, and why (the note goes into the result's parameters)."""

    device: str
    dtype: str
    offload: bool
    note: str = ""


def gpu_free_bytes(device: str) -> int:
    import torch

    index = torch.device(device).index
    free, _total = torch.cuda.mem_get_info(index if index is not None else torch.cuda.current_device())
    return int(free)


def choose(family: Family, device: str, parameters: int, native: int) -> Placement:
    """bf16/fp16 on a GPU (CPU offload when its free memory is short); on the CPU bf16 where it has
    bf16 units, else fp32 unless the fp32 weights would not fit comfortably in the RAM, then bf16."""
    if device.startswith("cuda"):
        import torch

        dtype = "bfloat16" if family.supports_bf16 and torch.cuda.is_bf16_supported() else "float16"
        need = estimate_bytes(parameters, dtype, native, native, device)
        free = gpu_free_bytes(device)
        if need > GPU_HEADROOM * free:
            return Placement(
                device, dtype, True,
                f"model CPU offload: needs {describe_bytes(need)}, the GPU has {describe_bytes(free)} free",
            )  # fmt: skip
        return Placement(device, dtype, False)
    if device == "mps":
        return Placement(device, "float16" if family.supports_half else "float32", False)
    if cpu_dtype(family.supports_bf16) == "bfloat16":
        return Placement("cpu", "bfloat16", False, "bf16 on the CPU: it has bf16 units")
    ram = total_ram()
    if ram and family.supports_bf16 and parameters * 4 > CPU_FP32_SHARE * ram:
        return Placement(
            "cpu", "bfloat16", False, f"bf16 on the CPU: fp32 weights would not fit in {ram // _GB} GB"
        )
    return Placement("cpu", "float32", False)


def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
