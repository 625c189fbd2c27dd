"""Quality of the shipped restoration Transformer on ../shared/data/bench, beside published numbers.

* Colour Gaussian denoising on CBSD68 and McMaster at σ 15 / 25 / 50 (protocol in
  ``_restoration_common``), against the published CBM3D, DnCNN, FFDNet, DRUNet, SwinIR and SCUNet.
* OpenCV non-local means (the 'classical' engine) on the same noisy images, with the best of a few
  filter strengths per σ chosen on the images themselves (an oracle, so it flatters NLM).
* JPEG artefacts on CBSD68 at quality 10 / 20 / 30: PSNR of the JPEG input and of our output.
* Clean photos (no noise added) through the denoiser: how much detail a blind model wrongly
  removes from a picture that needs nothing (the first weights lost 2 dB on McMaster this way).

Usage: ``python benchmarks/bench_restoration.py [--quick] [--weights FILE] [--no-write]``.
It prints the tables and writes the section ``restoration-quality`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._restoration_common import (
    SEED,
    add_noise,
    load_ours,
    load_set,
    psnr,
    to_float,
    to_uint8,
)
from benchmarks.report import machine_line, markdown_table, write_section

SIGMAS = (15, 25, 50)
PUBLISHED = {
    "CBSD68": {
        "CBM3D": (33.52, 30.71, 27.38),
        "DnCNN": (33.90, 31.24, 27.95),
        "FFDNet": (33.87, 31.21, 27.96),
        "DRUNet": (34.30, 31.69, 28.51),
        "SwinIR": (34.42, 31.78, 28.56),
        "SCUNet": (34.40, 31.79, 28.61),
    },
    "McMaster": {
        "CBM3D": (34.06, 31.66, 28.51),
        "DnCNN": (33.45, 31.52, 28.62),
        "FFDNet": (34.66, 32.35, 29.18),
        "DRUNet": (35.40, 33.14, 30.08),
        "SwinIR": (35.61, 33.20, 30.22),
        "SCUNet": (35.60, 33.34, 30.29),
    },
}
NLM_H = {15: (4, 6, 8, 10), 25: (7, 10, 13, 16), 50: (14, 19, 24, 30)}


def run_ours(engine: Any, noisy: np.ndarray, mode: str) -> np.ndarray:
    from gptstudio.core.progress import TaskState

    return to_uint8(engine.restore(to_float(noisy), strength=1.0, mode=mode, state=TaskState(), tile=0))


def denoise_table(engine: Any, sets: dict[str, list], mode: str) -> dict[str, dict[int, tuple[float, float]]]:
    """{set: {σ: (input PSNR, output PSNR)}} averaged over the images."""
    results: dict[str, dict[int, tuple[float, float]]] = {}
    for name, images in sets.items():
        results[name] = {}
        for sigma in SIGMAS:
            p_in, p_out = [], []
            for i, (_, clean) in enumerate(images):
                noisy = add_noise(clean, sigma, SEED + 1000 * sigma + i)
                p_in.append(psnr(noisy, clean))
                p_out.append(psnr(run_ours(engine, noisy, mode), clean))
            results[name][sigma] = (float(np.mean(p_in)), float(np.mean(p_out)))
            mean_in, mean_out = np.mean(p_in), np.mean(p_out)
            print(f"  {name} σ={sigma} mode={mode}: input {mean_in:.2f} -> ours {mean_out:.2f} dB")
    return results


def clean_table(engine: Any, sets: dict[str, list]) -> dict[str, float]:
    """{set: mean PSNR of our denoise output against the untouched, noise-free input}."""
    out = {}
    for name, images in sets.items():
        out[name] = float(np.mean([psnr(run_ours(engine, clean, "denoise"), clean) for _, clean in images]))
        print(f"  {name} clean input: ours {out[name]:.2f} dB")
    return out


def nlm_table(images: list) -> dict[int, tuple[float, int]]:
    """Best mean PSNR of OpenCV NLM over a few h per σ: {σ: (PSNR, h)}."""
    out = {}
    for sigma in SIGMAS:
        best = (0.0, 0)
        for h in NLM_H[sigma]:
            scores = []
            for i, (_, clean) in enumerate(images):
                noisy = add_noise(clean, sigma, SEED + 1000 * sigma + i)
                den = cv2.fastNlMeansDenoisingColored(noisy[:, :, ::-1].copy(), None, h, h, 7, 21)[:, :, ::-1]
                scores.append(psnr(den, clean))
            best = max(best, (float(np.mean(scores)), h))
        out[sigma] = best
        print(f"  NLM σ={sigma}: {best[0]:.2f} dB (h={best[1]})")
    return out


def jpeg_table(engine: Any, images: list, qualities: tuple[int, ...]) -> dict[int, tuple[float, float]]:
    """{q: (JPEG input PSNR, ours with mode=jpeg)}."""
    out = {}
    for q in qualities:
        p_in, p_out = [], []
        for _, clean in images:
            ok, buf = cv2.imencode(".jpg", clean[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
            assert ok
            damaged = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()
            p_in.append(psnr(damaged, clean))
            p_out.append(psnr(run_ours(engine, damaged, "jpeg"), clean))
        out[q] = (float(np.mean(p_in)), float(np.mean(p_out)))
        print(f"  JPEG q={q}: input {out[q][0]:.2f}, ours (mode=jpeg) {out[q][1]:.2f} dB")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="first 8 images of each set, fewer NLM images")
    ap.add_argument("--weights", type=Path, default=None, help="GRT safetensors (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images of each set")
    ap.add_argument("--nlm-images", type=int, default=12, help="CBSD68 images for the NLM context row")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, len(__import__("os").sched_getaffinity(0))))
    limit = args.limit or (8 if args.quick else None)
    engine = load_ours(args.weights)
    sets = {name: load_set(name, limit) for name in ("CBSD68", "McMaster")}
    start = time.perf_counter()
    print("Gaussian denoising (mode=denoise):")
    den = denoise_table(engine, sets, "denoise")
    print("Gaussian denoising, blind (mode=all):")
    blind = denoise_table(engine, {"CBSD68": sets["CBSD68"]}, "all")
    n_nlm = min(args.nlm_images, limit or args.nlm_images, 4 if args.quick else args.nlm_images)
    print(f"OpenCV NLM on the first {n_nlm} CBSD68 images:")
    nlm_sub = sets["CBSD68"][:n_nlm]
    nlm = nlm_table(nlm_sub)
    ours_sub = denoise_table(engine, {"CBSD68": nlm_sub}, "denoise")["CBSD68"]
    print("JPEG artefacts on CBSD68:")
    jp = jpeg_table(engine, sets["CBSD68"], (10, 20, 30))
    print("Clean input (mode=denoise):")
    untouched = clean_table(engine, sets)
    precision_rows = []
    if engine.dtype == torch.bfloat16:
        print("The same CBSD68 run in fp32 (what CPUs without bf16 units compute):")
        fp32 = denoise_table(load_ours(args.weights, bf16=False), {"CBSD68": sets["CBSD68"]}, "denoise")
        diffs = [den["CBSD68"][s][1] - fp32["CBSD68"][s][1] for s in SIGMAS]
        precision_rows = [
            ["fp32", *[f"{fp32['CBSD68'][s][1]:.2f}" for s in SIGMAS]],
            ["bf16 (this CPU's default)", *[f"{den['CBSD68'][s][1]:.2f}" for s in SIGMAS]],
            ["bf16 − fp32", *[f"{d:+.3f}" for d in diffs]],
        ]
    seconds = time.perf_counter() - start

    rows = []
    for name in ("CBSD68", "McMaster"):
        for method, vals in PUBLISHED[name].items():
            rows.append([name, f"{method} (published)", *[f"{v:.2f}" for v in vals]])
        rows.append([name, "noisy input", *[f"{den[name][s][0]:.2f}" for s in SIGMAS]])
        rows.append([name, "**GRT (ours, measured)**", *[f"**{den[name][s][1]:.2f}**" for s in SIGMAS]])
    blind_row = [f"{blind['CBSD68'][s][1]:.2f}" for s in SIGMAS]
    rows.append(["CBSD68", "GRT blind (mode=all, measured)", *blind_row])
    verdict = []
    for name in ("CBSD68", "McMaster"):
        for ref in ("CBM3D", "DnCNN"):
            diffs = [den[name][s][1] - PUBLISHED[name][ref][i] for i, s in enumerate(SIGMAS)]
            beat = "at or above" if min(diffs) >= 0 else "below"
            verdict.append(
                f"- {name} vs {ref}: {beat} at every σ"
                if beat == "at or above"
                else f"- {name} vs {ref}: below at σ "
                + ", ".join(str(s) for s, d in zip(SIGMAS, diffs, strict=True) if d < 0)
            )
            verdict[-1] += " (differences " + " / ".join(f"{d:+.2f}" for d in diffs) + " dB)"
    nlm_rows = [
        ["OpenCV NLM, best h per σ (oracle)", *[f"{nlm[s][0]:.2f} (h={nlm[s][1]})" for s in SIGMAS]],
        ["GRT (ours)", *[f"{ours_sub[s][1]:.2f}" for s in SIGMAS]],
    ]
    jpeg_rows = [[q, f"{v[0]:.2f}", f"{v[1]:.2f}", f"{v[1] - v[0]:+.2f}"] for q, v in jp.items()]
    sub = f" (subset: first {limit} images per set)" if limit else ""
    command = " ".join(["python benchmarks/bench_restoration.py", *(sys.argv[1:] if argv is None else argv)])
    md = "\n\n".join(
        [
            "## Restoration quality (PSNR, dB)",
            f"Command: `{command}`{sub}. Machine: {machine_line()}. Run time {seconds / 60:.1f} min.",
            "Gaussian noise added to the 8-bit image (seeded), rounded and clipped to 8 bits; our output "
            "rounded to 8 bits; PSNR over the RGB image, averaged over the set. Published rows are "
            "copied from the SwinIR/SCUNet papers; their test code adds the noise in floating point "
            "without rounding or clipping, ours rounds and clips like a saved noisy file.",
            markdown_table(["set", "method", "σ=15", "σ=25", "σ=50"], rows),
            "\n".join(verdict),
            f"Classical context on the first {n_nlm} CBSD68 images:",
            markdown_table(["method", "σ=15", "σ=25", "σ=50"], nlm_rows),
            "JPEG artefacts, CBSD68 encoded by OpenCV's libjpeg (4:2:0):",
            markdown_table(["quality", "JPEG input", "GRT (mode=jpeg)", "gain"], jpeg_rows),
            *(
                [
                    "CBSD68 through the engine in bf16 (AMX/AVX512-BF16) and in fp32, mode=denoise:",
                    markdown_table(["precision", "σ=15", "σ=25", "σ=50"], precision_rows),
                ]
                if precision_rows
                else [f"Precision: {engine.dtype} (this CPU has no bf16 units or they are turned off)."]
            ),
            "Clean photos, no noise added, through `denoise` (PSNR of the output against the input; "
            "higher means less real detail taken for noise): "
            + ", ".join(f"{name} {v:.2f} dB" for name, v in untouched.items())
            + ".",
        ]
    )
    print(md)
    if not args.no_write:
        write_section("restoration-quality", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
