"""Seconds per step and peak memory of aMUSEd text-to-image on this CPU, beside the app's estimate.

aMUSEd 256 and aMUSEd 512 are built at their published sizes — the component configs of the
Hugging Face repositories ``amused/amused-256`` and ``amused/amused-512`` (transformer,
VQ-GAN and CLIP ViT-L/14 text encoder, copied below as numbers) — with random weights: nothing is
downloaded, and only speed and memory mean anything. Each model runs in fp32 and in bf16 (weights
and activations in bf16: what the engine picks on a CPU with bf16 units), each in a fresh child
process so that its peak RSS is its own.

One run is a whole text-to-image call at the model's native size with classifier-free guidance
(the transformer sees a batch of two), timed per step through the same legacy step callback the
engine uses; "per step" is the median of the steps after the first, and the fixed part (the text
encoder, the first step's warm-up, the VQ-GAN decode) is what remains of the call. The memory
estimate is :func:`gptstudio.engines.diffusers.memory.estimate_bytes`, what the Generate panel shows
before Run, for the same parameter count, dtype and size.

The machine may be shared: the load average before and after is printed and written, and the
section says when another job shared the CPU. Usage:
``python benchmarks/bench_generate.py [--steps 3] [--models amused-256,amused-512] [--no-write]``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import machine_line, markdown_table, write_section

#: transformer/config.json of both repositories; they differ only in the rows of MODELS below.
UVIT = dict(
    hidden_size=1024, use_bias=False, hidden_dropout=0.0, cond_embed_dim=768, micro_cond_encode_dim=256,
    micro_cond_embed_dim=1280, encoder_hidden_size=768, vocab_size=8256, codebook_size=8192,
    in_channels=768, block_out_channels=768, num_res_blocks=3, block_num_heads=12, num_hidden_layers=22,
    num_attention_heads=16, attention_dropout=0.0, intermediate_size=2816, layer_norm_eps=1e-6,
    ln_elementwise_affine=True,
)  # fmt: skip
#: vqvae/config.json (the same VQ-GAN in both).
VQGAN = dict(
    act_fn="silu", block_out_channels=[128, 256, 256, 512, 768], down_block_types=["DownEncoderBlock2D"] * 5,
    up_block_types=["UpDecoderBlock2D"] * 5, in_channels=3, out_channels=3, latent_channels=64,
    layers_per_block=2, norm_num_groups=32, num_vq_embeddings=8192, sample_size=32,
    mid_block_add_attention=False, lookup_from_codebook=True, scaling_factor=0.18215, force_upcast=True,
)  # fmt: skip
#: text_encoder/config.json: CLIP ViT-L/14's text tower with its projection.
CLIP_TEXT = dict(
    hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, vocab_size=49408, projection_dim=768, hidden_act="quick_gelu",
    layer_norm_eps=1e-5, bos_token_id=0, eos_token_id=2, pad_token_id=1,
)  # fmt: skip
#: What differs between the two: the token grid (16×16 or 32×32 tokens, the 512 model halving it
#: once around the transformer layers) and the native size.
MODELS = {
    "amused-256": {"sample_size": 16, "downsample": False, "upsample": False, "native": 256},
    "amused-512": {"sample_size": 32, "downsample": True, "upsample": True, "native": 512},
}
MASK_TOKEN = 8255
PROMPT = "a lighthouse on a cliff at sunset"
GUIDANCE = 10.0  # the family's default: classifier-free guidance is on
DEFAULT_STEPS = 12


@contextlib.contextmanager
def fast_init(dtype: Any) -> Iterator[None]:
    """Build modules in ``dtype`` without their (slow, 800 M-parameter) default initialisation;
    :func:`randomise` fills the weights afterwards. Norm layers keep their own init."""
    import torch

    skipped = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Embedding)
    saved = {cls: cls.reset_parameters for cls in skipped}
    previous = torch.get_default_dtype()
    try:
        for cls in skipped:
            cls.reset_parameters = lambda self: None  # type: ignore[method-assign]
        torch.set_default_dtype(dtype)
        yield
    finally:
        torch.set_default_dtype(previous)
        for cls, fn in saved.items():
            cls.reset_parameters = fn  # type: ignore[method-assign]


def randomise(module: Any) -> None:
    import torch

    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, torch.nn.Linear | torch.nn.Conv2d | torch.nn.Embedding):
                sub.weight.normal_(0.0, 0.02, generator=gen)
                if getattr(sub, "bias", None) is not None:
                    sub.bias.zero_()


def clip_tokenizer(folder: Path) -> Any:
    """A CLIPTokenizer from a small vocabulary written here (ids stay inside the encoder's 49408)."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def build(name: str, dtype: Any) -> tuple[Any, int]:
    """The pipeline at its published size with random weights, and its parameter count."""
    from diffusers import AmusedPipeline, AmusedScheduler, UVit2DModel, VQModel
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    row = MODELS[name]
    with fast_init(dtype):
        transformer = UVit2DModel(
            **UVIT, sample_size=row["sample_size"], downsample=row["downsample"], upsample=row["upsample"]
        )
        vqvae = VQModel(**VQGAN)
        text_encoder = CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_TEXT))
    parts = (transformer, vqvae, text_encoder)
    for part in parts:
        randomise(part)
        part.to(dtype).eval()
    tokenizer = clip_tokenizer(Path(tempfile.mkdtemp(prefix="bench-clip-")))
    pipe = AmusedPipeline(
        vqvae=vqvae,
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        transformer=transformer,
        scheduler=AmusedScheduler(mask_token_id=MASK_TOKEN),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe, sum(p.numel() for part in parts for p in part.parameters())


def peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def stamp(wall: list[float], cpu: list[float]) -> None:
    """The legacy step callback aMUSEd calls (as the engine's does): note the time of each step."""
    wall.append(time.perf_counter())
    cpu.append(time.process_time())


def child(name: str, dtype_name: str, steps: int) -> dict[str, Any]:
    """One measured run, in this (fresh) process."""
    import torch

    from gptstudio.engines.diffusers.memory import estimate_bytes

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    start = time.perf_counter()
    pipe, parameters = build(name, dtype)
    built_s = time.perf_counter() - start
    native = MODELS[name]["native"]
    stamps: list[float] = []
    cpu: list[float] = []  # this process's CPU seconds at each step: less moved by other jobs
    begin = time.perf_counter()
    with torch.inference_mode():
        out = pipe(
            PROMPT,
            num_inference_steps=steps,
            guidance_scale=GUIDANCE,
            height=native,
            width=native,
            generator=torch.Generator("cpu").manual_seed(0),
            output_type="np",
            callback=lambda _step, _t, _latents: stamp(stamps, cpu),
            callback_steps=1,
        )
    total = time.perf_counter() - begin
    assert out.images[0].shape[:2] == (native, native)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    per_step = statistics.median(gaps) if gaps else total / steps
    cpu_gaps = [b - a for a, b in itertools.pairwise(cpu)]
    cpu_per_step = statistics.median(cpu_gaps) if cpu_gaps else 0.0
    fixed = max(total - per_step * steps, 0.0)
    return {
        "model": name,
        "dtype": dtype_name,
        "native": native,
        "steps": steps,
        "parameters": parameters,
        "build_s": built_s,
        "per_step_s": per_step,
        "cpu_per_step_s": cpu_per_step,
        "fixed_s": fixed,
        "image_s": fixed + per_step * DEFAULT_STEPS,
        "peak_rss": peak_rss(),
        "estimate": estimate_bytes(parameters, dtype_name, native, native),
        "threads": torch.get_num_threads(),
    }


def run_child(name: str, dtype: str, steps: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, dtype, "--steps", str(steps)],
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((s for s in proc.stdout.splitlines() if s.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"{name} {dtype} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def gb(n: float) -> str:
    return f"{n / 1e9:.2f}"


def ratio(by: dict[tuple[str, str], dict[str, Any]], model: str, key: str) -> float:
    """bf16 over fp32 for ``key`` (0 when fp32 has no such number)."""
    fp32 = by[(model, "float32")][key]
    return by[(model, "bfloat16")][key] / fp32 if fp32 else 0.0


def row(r: dict[str, Any]) -> list[object]:
    return [
        f"{r['model']} ({r['native']}²)", r["dtype"], f"{r['parameters'] / 1e6:.0f}", r["per_step_s"],
        r["cpu_per_step_s"], r["fixed_s"], r["image_s"], gb(r["peak_rss"]), gb(r["estimate"]),
        r["estimate"] / r["peak_rss"],
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="sampling steps per measured run (≥ 2)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child[0], args.child[1], max(args.steps, 2))), flush=True)
        return

    from gptstudio.core.device import cpu_has_bf16
    from gptstudio.engines.diffusers.memory import describe_bytes

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    results = []
    for name in args.models.split(","):
        for dtype in args.dtypes.split(","):
            r = run_child(name, dtype, args.steps)
            print(
                f"{name} {dtype}: {r['per_step_s']:.2f} s/step, fixed {r['fixed_s']:.1f} s, "
                f"peak RSS {gb(r['peak_rss'])} GB (estimate {describe_bytes(r['estimate'])})",
                flush=True,
            )
            results.append(r)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    headers = [
        "model", "dtype", "parameters (M)", "s / step", "CPU s / step", "fixed s (text, decode)",
        f"s / image at {DEFAULT_STEPS} steps", "peak RSS (GB)", "app's estimate (GB)", "estimate / peak",
    ]  # fmt: skip
    rows = [row(r) for r in results]
    table = markdown_table(headers, rows)
    print(table)
    by = {(r["model"], r["dtype"]): r for r in results}
    ratios = [
        f"{m}: bf16 takes {ratio(by, m, 'per_step_s'):.2f}× the fp32 time per step "
        f"({ratio(by, m, 'cpu_per_step_s'):.2f}× its CPU time) and {ratio(by, m, 'peak_rss'):.2f}× "
        "its peak memory"
        for m in MODELS
        if (m, "float32") in by and (m, "bfloat16") in by
    ]
    busy = load_before > 0.5 * (os.cpu_count() or 1) or load_after > 0.5 * (os.cpu_count() or 1)
    shared = (
        "Another job shared the CPU during this run (see the load average), so the times are slower "
        "than on an idle machine; the memory numbers do not depend on it."
        if busy
        else "The CPU was otherwise idle."
    )
    threads = results[0]["threads"] if results else 0
    text = "\n".join(
        [
            "## Generate: aMUSEd text-to-image on the CPU (`benchmarks/bench_generate.py`)",
            "",
            f"Machine: {machine_line()}; bf16 units: {'yes' if cpu_has_bf16() else 'no'}; torch threads "
            f"{threads}; load average {load_before:.1f} before, {load_after:.1f} after; whole run "
            f"{wall / 60:.1f} min. {shared}",
            "",
            "aMUSEd 256 and 512 at their published sizes (the transformer, VQ-GAN and CLIP ViT-L/14 text "
            "encoder configs of `amused/amused-256` and `amused/amused-512`) with random weights: speed "
            "and memory only. One text-to-image call per row at the native size with guidance "
            f"{GUIDANCE:g} (the transformer runs a batch of two), {args.steps} steps, in a fresh process; "
            "s / step is the median step after the first (CPU s / step: this process's CPU seconds, "
            "which other jobs move less than the wall clock), the fixed part is the rest of the call (text "
            "encoder, first-step warm-up, VQ-GAN decode), and s / image adds the default "
            f"{DEFAULT_STEPS} steps to it. Peak RSS is the child process's VmHWM (weights, activations "
            "and Python); the estimate is what the Generate panel shows before Run "
            "(`engines/diffusers/memory.estimate_bytes`). The engine runs bf16 on a CPU with bf16 "
            "units (this one: see above) and fp32 elsewhere.",
            "",
            table,
            "",
            "; ".join(ratios) + "." if ratios else "",
        ]
    )
    if not args.no_write:
        write_section("generate", text)


if __name__ == "__main__":
    main()
