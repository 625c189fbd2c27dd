"""A folder through the batch as a user sees it: mirrored outputs, formats, metadata, failures, masks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from batch_helpers import (
    BAD,
    GOOD,
    LIMIT_MP,
    by_path,
    make_folder,
    picture,
    records,
    register_invert,
    snapshot,
    srgb_icc,
)
from PIL import Image

from gptstudio.batch import BatchOptions, files_in_flight, plan, run_batch
from gptstudio.cli import main
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.imageio import read_params
from gptstudio.models import registry

NLM = {"task": "denoise", "model": "classical-nlm", "strength": 0.5}


def test_outputs_mirror_the_folder_and_failures_are_recorded_while_the_batch_goes_on(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in")
    before = snapshot(src)
    out = tmp_path / "out"
    summary = run_batch(BatchOptions(input_dir=src, output_dir=out, max_megapixels=LIMIT_MP, **NLM))

    assert (summary.done, summary.skipped, summary.failed, summary.cancelled) == (4, 0, 3, False)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [
        "gptstudio-batch.jsonl",
        "nested/deeper/deep16.png",
        "nested/pic.png",
        "photo.png",
        "top.png",
    ]
    recs = by_path(records(out))
    assert sorted(recs) == sorted(GOOD + list(BAD))  # readme.txt is not an image: never planned
    for rel, word in BAD.items():
        assert recs[rel]["status"] == "failed" and word in recs[rel]["reason"], recs[rel]
    assert dict(summary.failures).keys() == BAD.keys()
    for rel in GOOD:
        r = recs[rel]
        assert r["status"] == "done" and r["model"] == "classical-nlm" and r["params"]["strength"] == 0.5
        assert r["sha256"] and r["seconds"] >= 0 and (out / r["output"]).is_file()
    assert snapshot(src) == before  # the input folder was never written
    assert summary.megapixels_per_second > 0 and summary.files_per_second > 0
    assert "done 4, skipped 0, failed 3" in summary.line()
    end = records(out, "end")[-1]
    assert end["status"] == "finished" and end["done"] == 4 and end["failed"] == 3


def test_outputs_keep_exif_icc_and_16_bits(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    run_batch(BatchOptions(input_dir=src, output_dir=out, **NLM))
    with Image.open(out / "photo.png") as im:
        assert im.info.get("icc_profile") == srgb_icc()
        assert im.getexif()[0x010F] == "TestCam"
    deep = cv2.imread(str(out / "nested/deeper/deep16.png"), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16 and len(np.unique(deep)) > 256
    assert read_params(out / "top.png")["model"] == "classical-nlm"


@pytest.mark.parametrize(
    ("fmt", "extra", "ext_of"),
    [
        ("png", [], lambda rel: ".png"),
        ("jpg", ["--quality", "80"], lambda rel: ".jpg"),
        ("same", [], lambda rel: Path(rel).suffix),
    ],
)
def test_each_output_is_byte_identical_to_a_single_image_run(
    tmp_path: Path, fmt: str, extra: list, ext_of
) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    args = ["batch", "denoise", str(src), "-o", str(out), "--model", "classical-nlm", "--strength", "0.5"]
    assert main([*args, "--format", fmt, "--suffix=-clean", *extra]) == 0
    for rel in GOOD:
        alone = tmp_path / "alone" / f"{Path(rel).stem}{ext_of(rel)}"
        alone.parent.mkdir(exist_ok=True)
        single = [
            "denoise",
            str(src / rel),
            "-o",
            str(alone),
            "--model",
            "classical-nlm",
            "--strength",
            "0.5",
        ]
        assert main([*single, *extra]) == 0
        batch_out = out / Path(rel).parent / f"{Path(rel).stem}-clean{ext_of(rel)}"
        assert batch_out.read_bytes() == alone.read_bytes(), rel


def test_classical_engines_run_a_file_per_core() -> None:
    from gptstudio.engines.classical import nlm

    options = BatchOptions(task="denoise", input_dir=Path("."), output_dir=Path("out"))
    assert files_in_flight(nlm.INFO, options) == min(os.cpu_count() or 1, 8)
    assert files_in_flight(registry.info("grt-restoration"), options) == 1


def test_include_exclude_and_recursion_choose_the_files(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in")
    out = tmp_path / "out"

    def rels(**kw: object) -> list[str]:
        return [p.rel for p in plan(BatchOptions(task="denoise", input_dir=src, output_dir=out, **kw))]

    assert rels(include=("*.png",)) == ["big.png", "top.png", "nested/notes.png", "nested/deeper/deep16.png"]
    assert rels(exclude=("nested/*",)) == ["big.png", "photo.jpg", "top.png"]
    assert rels(recursive=False) == ["big.png", "photo.jpg", "top.png"]
    assert rels(include=("nested/deeper/*",)) == ["nested/deeper/deep16.png"]


def test_upscale_keeps_each_format_and_fails_results_over_the_limit(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    options = BatchOptions(
        task="upscale",
        input_dir=src,
        output_dir=out,
        model="classical-lanczos",
        scale=2,
        format="same",
        max_megapixels=LIMIT_MP,
    )
    summary = run_batch(options)
    recs = by_path(records(out))
    assert recs["top.png"]["status"] == "failed" and "limit" in recs["top.png"]["reason"]  # 96×128 > 0.01 MP
    assert summary.done == 3
    with Image.open(out / "photo.jpg") as im:
        assert im.format == "JPEG" and im.size == (56 * 2, 40 * 2)
    with Image.open(out / "nested/pic.webp") as im:
        assert im.format == "WEBP" and im.size == (52 * 2, 36 * 2)


def _mask(path: Path, size: tuple[int, int], box: tuple[int, int, int, int]) -> None:
    m = np.zeros((size[1], size[0]), np.uint8)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(m).save(path)


def test_inpaint_matches_masks_by_path_and_stem_and_never_guesses(tmp_path: Path) -> None:
    src, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    for rel in ("a.jpg", "sub/b.png", "sub/c.png", "sub/d.png"):
        Image.fromarray(picture(40, 48, len(rel))).save(src / rel)
    _mask(masks / "a.png", (48, 40), (10, 10, 20, 20))  # a.jpg's mask: same stem, another extension
    _mask(masks / "sub/b.png", (48, 40), (30, 5, 40, 15))
    _mask(masks / "c.png", (48, 40), (0, 0, 5, 5))  # c's stem, but not its folder: no match
    _mask(masks / "sub/d.png", (20, 20), (0, 0, 5, 5))  # wrong size
    options = BatchOptions(
        task="inpaint", input_dir=src, output_dir=out, mask_dir=masks, model="classical-telea", seed=7
    )
    summary = run_batch(options)
    recs = by_path(records(out))
    assert (summary.done, summary.failed) == (2, 2)
    assert recs["sub/c.png"]["status"] == "failed" and "no matching mask" in recs["sub/c.png"]["reason"]
    assert recs["sub/d.png"]["status"] == "failed" and "same size" in recs["sub/d.png"]["reason"]
    assert not (out / "sub/c.png").exists()
    assert records(out, "run")[-1]["seed"] == 7
    # Only the masked area changed (grow + feather reach a few pixels further).
    before = np.asarray(Image.open(src / "sub/b.png"), dtype=int)
    after = np.asarray(Image.open(out / "sub/b.png"), dtype=int)
    ys, xs = np.nonzero(np.any(before != after, axis=2))
    assert ys.size and ys.max() < 15 + 12 and xs.min() >= 30 - 12
    # The same as `gptstudio inpaint` with that mask and seed, byte for byte.
    alone = tmp_path / "alone.png"
    assert main(["inpaint", str(src / "sub/b.png"), "--mask", str(masks / "sub/b.png"), "-o", str(alone),
                 "--model", "classical-telea", "--seed", "7"]) == 0  # fmt: skip
    assert alone.read_bytes() == (out / "sub/b.png").read_bytes()


def test_inpaint_with_one_mask_for_all_keeps_one_seed_for_the_batch(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("x.png", "y.png"):
        Image.fromarray(picture(40, 48, len(name))).save(src / name)
    _mask(tmp_path / "m.png", (48, 40), (5, 5, 15, 15))
    options = BatchOptions(
        task="inpaint", input_dir=src, output_dir=out, mask_file=tmp_path / "m.png", model="classical-telea"
    )
    assert run_batch(options).done == 2
    seed = records(out, "run")[-1]["seed"]
    assert isinstance(seed, int)
    assert {r["params"]["seed"] for r in records(out)} == {seed}
    (out / "y.png").unlink()
    run_batch(options)  # a resumed batch keeps the seed it started with
    assert records(out, "run")[-1]["seed"] == seed
    assert by_path(records(out))["y.png"]["status"] == "done"


def test_restore_passes_its_mode_and_records_it(tmp_path: Path) -> None:
    register_invert()
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    options = BatchOptions(
        task="restore", input_dir=src, output_dir=out, model="test-batch-invert", mode="jpeg", device="cpu"
    )
    assert run_batch(options).done == 4
    assert all(r["params"]["mode"] == "jpeg" for r in records(out))
    with pytest.raises(InvalidRequestError, match="Unknown restore mode 'blurry'"):
        run_batch(BatchOptions(task="restore", input_dir=src, output_dir=out, mode="blurry"))


def test_the_input_folder_is_refused_as_output_unless_allowed_and_no_input_is_replaced(
    tmp_path: Path,
) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    with pytest.raises(InvalidRequestError, match="output folder is the input folder"):
        run_batch(BatchOptions(input_dir=src, output_dir=src, **NLM))
    before = snapshot(src)
    same = BatchOptions(input_dir=src, output_dir=src, allow_input_folder=True, format="same", **NLM)
    summary = run_batch(same)  # same names: every output would replace its input
    assert summary.done == 0 and summary.failed == 4
    assert all("replace an input" in reason for _rel, reason in summary.failures)
    assert {k: v for k, v in snapshot(src).items() if k != "gptstudio-batch.jsonl"} == before
    suffixed = BatchOptions(input_dir=src, output_dir=src, allow_input_folder=True, suffix="-clean", **NLM)
    assert run_batch(suffixed).done == 4
    again = run_batch(suffixed)  # the results of the first run are not taken for new inputs
    assert (again.done, again.skipped, again.total) == (0, 4, 4)
    for rel, (digest, _mtime) in before.items():
        assert snapshot(src)[rel][0] == digest


def test_two_inputs_that_would_share_an_output_name_are_reported(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(picture(32, 32, 1)).save(src / "a.jpg")
    Image.fromarray(picture(32, 32, 2)).save(src / "a.png")
    summary = run_batch(BatchOptions(input_dir=src, output_dir=out, **NLM))
    assert (summary.done, summary.failed) == (1, 1)
    assert "same output name" in summary.failures[0][1] and "--format same" in summary.failures[0][1]
    shutil.rmtree(out)
    assert run_batch(BatchOptions(input_dir=src, output_dir=out, format="same", **NLM)).done == 2
