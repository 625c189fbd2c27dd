"""Time per click of the region tools, and each adjustment's time on a 24-MP photo.

- Select Object with GrabCut on a 24-MP photo (6000×4000, one object on a textured background):
  the first box, then refining clicks; each is the whole work of one click (shrink the box's crop,
  GrabCut, enlarge with the guided filter). Beside it, the reference: OpenCV's GrabCut on the
  same crop at full resolution, one iteration, what a naive tool would do.
- Segment Anything at its published sizes with random weights (SAM ViT-B, and SAM 2 Hiera-T when
  the installed transformers has it): the image encoder once per image (1024 px input), then the
  per-click prompt decoder, and a click's full work including the enlargement to 24 MP.
- Each adjustment alone, and all at once, on the 24-MP float image (what Apply runs), beside a
  plain ``numpy`` copy of the same image as the floor.

The machine is shared, so each number is the best of ``--repeats`` runs. Usage:
``python benchmarks/bench_regions.py [--repeats 3] [--no-sam] [--no-write]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from benchmarks.report import machine_line, markdown_table, write_section
from benchmarks.timing import best_of
from gptstudio.core.adjust import Adjustments, apply_adjustments
from gptstudio.core.imagedata import from_array
from gptstudio.engines.segment import ObjectPrompt
from gptstudio.engines.segment.grabcut import grabcut_select
from gptstudio.tasks.regions import RegionSession

W, H = 6000, 4000


def photo() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A 24-MP photo: a textured background and one object (an ellipse) about 2000×1500 px."""
    rng = np.random.default_rng(0)
    small = rng.integers(120, 220, (H // 40, W // 40, 3), dtype=np.uint8)
    img = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    truth = np.zeros((H, W), np.uint8)
    cv2.ellipse(truth, (3000, 2000), (1000, 750), 20, 0, 360, 255, -1)
    obj = np.clip(np.array([60, 40, 150]) + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    img[truth > 0] = obj[truth > 0]
    return img, (1900.0, 1100.0, 4100.0, 2900.0)


def grabcut_rows(img: np.ndarray, box: tuple[float, ...], repeats: int) -> list[list[object]]:
    first = ObjectPrompt(box=box)  # type: ignore[arg-type]
    refined = first.with_click(3000, 2000, True).with_click(2000, 1200, False)
    x0, y0, x1, y1 = (int(v) for v in box)
    crop = np.ascontiguousarray(img[y0 - 200 : y1 + 200, x0 - 200 : x1 + 200])

    def naive() -> None:
        labels = np.zeros(crop.shape[:2], np.uint8)
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.grabCut(crop, labels, (200, 200, x1 - x0, y1 - y0), bgd, fgd, 1, cv2.GC_INIT_WITH_RECT)

    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    t_box = best_of(lambda: grabcut_select(img, first, grey), repeats)
    t_click = best_of(lambda: grabcut_select(img, refined, grey), repeats)
    t_naive = best_of(naive, 1)
    return [
        ["GrabCut: box (24 MP photo)", f"{t_box:.2f}", ""],
        ["GrabCut: box + 2 clicks", f"{t_click:.2f}", ""],
        [
            "reference: cv2.grabCut on the full-resolution crop, 1 iteration",
            f"{t_naive:.2f}",
            f"{t_naive / t_box:.1f}× slower",
        ],
    ]


def sam_rows(img: np.ndarray, box: tuple[float, ...], repeats: int) -> list[list[object]]:
    import tempfile

    import torch
    import transformers as t

    from gptstudio.engines.segment.sam import SamSegmenter

    torch.set_num_threads(os.cpu_count() or 1)
    rows: list[list[object]] = []
    families = [("SAM ViT-B (facebook/sam-vit-base size)", t.SamConfig, t.SamModel)]
    if hasattr(t, "Sam2Model"):
        families.append(("SAM 2 Hiera-T (Sam2Config defaults)", t.Sam2Config, t.Sam2Model))
    for label, config_cls, model_cls in families:
        torch.manual_seed(0)
        model = model_cls(config_cls()).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder, safe_serialization=True)
            segmenter = SamSegmenter.load(folder)
        del model
        session = RegionSession(from_array(img), segmenter)
        _ = session.grey
        rgb8 = session.rgb8
        t_encode = best_of(lambda s=segmenter, r=rgb8: s.embed(r), 1 if repeats < 3 else 2)
        session.prepare()
        prompt = ObjectPrompt(box=box).with_click(3000, 2000, True)  # type: ignore[arg-type]
        emb = session._embedding
        t_decode = best_of(lambda s=segmenter, e=emb, p=prompt: s.predict(e, p), repeats)
        t_click = best_of(lambda s=session, p=prompt: s.select_object(p), repeats)
        rows += [
            [f"{label}, {params:.0f} M parameters: image encoder (once per image)", f"{t_encode:.2f}", ""],
            [f"{label}: prompt decoder per click", f"{t_decode:.3f}", ""],
            [f"{label}: a click's whole work (decoder + enlarging to 24 MP)", f"{t_click:.2f}", ""],
        ]
    return rows


def adjustment_rows(repeats: int) -> list[list[object]]:
    rng = np.random.default_rng(1)
    rgb = rng.random((H, W, 3), dtype=np.float32)
    out = np.empty_like(rgb)
    floor = best_of(lambda: np.copyto(out, rgb), repeats)
    cases = {
        "brightness": Adjustments(brightness=0.1),
        "contrast": Adjustments(contrast=1.3),
        "saturation": Adjustments(saturation=1.4),
        "colour balance (3 ranges)": Adjustments(
            shadows=(0.1, 0, -0.1), midtones=(0, 0.1, 0), highlights=(-0.1, 0, 0.1)
        ),
        "levels (black, white)": Adjustments(black=16 / 255, white=235 / 255),
        "levels with gamma": Adjustments(black=16 / 255, white=235 / 255, gamma=1.4),
        "white balance": Adjustments(wb_gains=(1.1, 1.0, 0.9)),
        "all of the above": Adjustments(
            brightness=0.1, contrast=1.3, saturation=1.4, black=16 / 255, white=235 / 255, gamma=1.4,
            wb_gains=(1.1, 1.0, 0.9), shadows=(0.1, 0, -0.1), midtones=(0, 0.1, 0), highlights=(-0.1, 0, 0.1),
        ),
    }  # fmt: skip
    rows: list[list[object]] = [["reference: numpy copy of the 24-MP float image", f"{floor:.2f}", "1.0"]]
    for name, a in cases.items():
        seconds = best_of(lambda a=a: apply_adjustments(rgb, a, out=out), repeats)
        rows.append([name, f"{seconds:.2f}", f"{seconds / floor:.1f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sam", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    img, box = photo()
    clicks = grabcut_rows(img, box, args.repeats)
    if not args.no_sam:
        clicks += sam_rows(img, box, args.repeats)
    adjust = adjustment_rows(args.repeats)
    load_after = os.getloadavg()[0]
    text = "\n\n".join(
        [
            "## Region tools and adjustments (`benchmarks/bench_regions.py`)",
            f"Machine: {machine_line()}; load average {load_before:.1f} before, {load_after:.1f} after "
            "(the machine is shared; best of the repeats).",
            "Time per click on a 6000×4000 (24 MP) photo, object about 2000×1500 px. SAM models have "
            "random weights at their published sizes (the speed does not depend on the values).",
            markdown_table(["click", "seconds", "vs ours"], clicks),
            "Each adjustment on the 24-MP float32 image (what Apply runs, off the GUI thread):",
            markdown_table(["adjustment", "seconds", "× a plain copy"], adjust),
        ]
    )
    print(text)
    if not args.no_write:
        write_section("regions", text)


if __name__ == "__main__":
    main()
