"""Masks from regions: GrabCut selects an object, the wand's tolerance does what the docs say,
grow/shrink/feather, and a tiny Segment Anything model runs end to end from the store."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.core.imagedata import from_array
from gptstudio.core.selection import Patch, combine, feather_alpha, grow, magic_wand, shrink
from gptstudio.engines.segment import ObjectPrompt
from gptstudio.engines.segment.grabcut import grabcut_select
from gptstudio.models.store import Store
from gptstudio.tasks.regions import RegionSession, installed_segmenters, load_segmenter


def scene(w: int = 400, h: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy plain background with one dark blue object (an ellipse with a stem) on it."""
    rng = np.random.default_rng(seed)
    img = np.clip(np.array([200, 210, 190]) + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
    truth = np.zeros((h, w), np.uint8)
    cv2.ellipse(truth, (w // 2, h // 2), (w // 6, h // 5), 20, 0, 360, 255, -1)
    cv2.rectangle(truth, (w // 2 - w // 20, h // 2), (w // 2 + w // 20, h // 2 + h // 3), 255, -1)
    obj = np.clip(np.array([60, 40, 150]) + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
    img[truth > 0] = obj[truth > 0]
    return img, truth


def placed(patch: Patch, h: int, w: int) -> np.ndarray:
    full = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = patch.box
    full[y0:y1, x0:x1] = patch.alpha
    return full


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    return float((a & b).sum() / max((a | b).sum(), 1))


def box_around(truth: np.ndarray, pad: int = 12) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(truth)
    return (xs.min() - pad, ys.min() - pad, xs.max() + pad, ys.max() + pad)


def test_grabcut_selects_the_object_on_a_plain_background() -> None:
    img, truth = scene()
    patch = grabcut_select(img, ObjectPrompt(box=box_around(truth)))
    assert iou(placed(patch, *truth.shape), truth) > 0.95
    x0, y0, x1, y1 = patch.box  # the patch is only the object's box, not the whole photo
    assert (x1 - x0) * (y1 - y0) < truth.size / 2


def test_grabcut_works_at_full_resolution_from_a_small_working_copy() -> None:
    img, truth = scene(2400, 1600, seed=1)  # above WORK_SIDE: shrunk, labelled, enlarged, refined
    patch = grabcut_select(img, ObjectPrompt(box=box_around(truth, 40)))
    got = placed(patch, *truth.shape)
    assert iou(got, truth) > 0.97
    assert set(np.unique(got)) - {0, 255}, "the refined edge is antialiased, not stair steps"


def test_negative_click_removes_a_part_and_positive_click_forces_one_in() -> None:
    img, truth = scene()
    h, w = truth.shape
    x0, y0, x1, y1 = (int(v) for v in box_around(truth))
    img[y0 + 4 : y0 + 40, x0 + 4 : x0 + 40] = (240, 140, 20)  # an orange tag inside the box
    tag = (x0 + 20, y0 + 20)
    prompt = ObjectPrompt(box=(x0, y0, x1, y1))
    first = placed(grabcut_select(img, prompt), h, w)
    assert first[tag[1], tag[0]] == 255  # not the background's colour: taken with the object
    without = placed(grabcut_select(img, prompt.with_click(*tag, positive=False)), h, w)
    assert (without[y0 + 6 : y0 + 38, x0 + 6 : x0 + 38] == 0).all()  # the whole tag, not the click
    assert iou(without, truth) > 0.95
    background = (x1 - 4, y0 + 4)
    forced = placed(grabcut_select(img, prompt.with_click(*background, positive=True)), h, w)
    assert forced[background[1], background[0]] == 255


def test_grabcut_needs_a_box() -> None:
    img, _ = scene()
    with pytest.raises(InvalidRequestError, match="box"):
        grabcut_select(img, ObjectPrompt(positive=((10.0, 10.0),)))
    with pytest.raises(InvalidRequestError, match="too small"):
        grabcut_select(img, ObjectPrompt(box=(-50, -50, -10, -10)))


def wand_image() -> np.ndarray:
    """Three grey squares on black: 100 at the left, 110 beside it (touching), 110 far right."""
    img = np.zeros((20, 60, 3), np.uint8)
    img[5:15, 5:15] = 100
    img[5:15, 15:25] = 110
    img[5:15, 45:55] = 110
    return img


def test_wand_tolerance_is_per_channel_against_the_clicked_colour() -> None:
    img = wand_image()
    # 10 levels apart: tolerance 9 stops at the neighbour, 10 takes it
    assert magic_wand(img, 8, 8, tolerance=9).box == (5, 5, 15, 15)
    assert magic_wand(img, 8, 8, tolerance=10).box == (5, 5, 25, 15)
    # contiguous never jumps the black gap; global takes every 100..110 pixel anywhere
    assert magic_wand(img, 8, 8, tolerance=10, contiguous=True).box[2] == 25
    assert magic_wand(img, 8, 8, tolerance=10, contiguous=False).box == (5, 5, 55, 15)
    # one channel out of tolerance is enough to leave a pixel out
    img[10, 10] = (100, 100, 112)
    assert magic_wand(img, 8, 8, tolerance=11).alpha[5, 5] == 0


def test_wand_compares_with_the_seed_not_the_neighbour() -> None:
    ramp = np.repeat(np.arange(0, 200, 2, dtype=np.uint8)[None, :, None], 3, axis=2)  # 2 levels a step
    patch = magic_wand(np.repeat(ramp, 4, axis=0), 0, 0, tolerance=6)
    assert patch.box[2] == 4  # levels 0, 2, 4, 6 — a gradient does not leak


def test_wand_refuses_points_outside_and_bad_tolerance() -> None:
    with pytest.raises(InvalidRequestError, match="outside"):
        magic_wand(wand_image(), 99, 0, 10)
    with pytest.raises(InvalidRequestError, match="tolerance"):
        magic_wand(wand_image(), 1, 1, 300)


def test_grow_shrink_feather_and_combine() -> None:
    a = np.zeros((50, 50), np.uint8)
    a[20:30, 20:30] = 255
    assert grow(a, 3)[20 - 3, 25] == 255 and grow(a, 3)[20 - 4, 25] == 0
    assert shrink(a, 3)[23, 25] == 255 and shrink(a, 3)[22, 25] == 0
    edge = np.zeros((10, 10), np.uint8)
    edge[:, :5] = 255
    assert shrink(edge, 2)[0, 0] == 255  # the image border is not an edge of the selection
    big = np.zeros((80, 80), np.uint8)
    big[20:60, 20:60] = 255
    f = feather_alpha(big, 6)
    assert 100 < f[20, 40] < 160 and f[40, 40] == 255 and f[0, 0] == 0
    b = np.zeros_like(a)
    b[25:35, 25:35] = 255
    assert combine(a, b, "add")[32, 32] == 255
    sub = combine(a, b, "subtract")
    assert sub[27, 27] == 0 and sub[22, 22] == 255
    assert np.array_equal(combine(a, b, "replace"), b)


def test_session_wand_and_grabcut_use_the_document_image() -> None:
    img, truth = scene()
    session = RegionSession(from_array(img))
    patch = session.select_object(ObjectPrompt(box=box_around(truth)))
    assert iou(placed(patch, *truth.shape), truth) > 0.95
    assert session.wand(2, 2, 40, True).box[:2] == (0, 0)


# --- Segment Anything ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sam_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    pytest.importorskip("transformers")
    from sam_tiny import install_tiny_sam

    store = Store(Path(tmp_path_factory.mktemp("store")))
    install_tiny_sam(store, "sam-tiny-test", "sam")
    install_tiny_sam(store, "sam2-tiny-test", "sam2")
    return store


@pytest.mark.parametrize("model_id", ["sam-tiny-test", "sam2-tiny-test"])
def test_tiny_sam_runs_end_to_end_and_encodes_once(sam_store: Store, model_id: str) -> None:
    assert {m.id for m in installed_segmenters(sam_store)} == {"sam-tiny-test", "sam2-tiny-test"}
    img, truth = scene(640, 480)
    session = RegionSession(from_array(img), load_segmenter(model_id, sam_store))
    box = box_around(truth)
    patches = [
        session.select_object(ObjectPrompt(box=box)),
        session.select_object(ObjectPrompt(box=box).with_click(320, 240, True)),
        session.select_object(ObjectPrompt(positive=((320.0, 240.0),), negative=((20.0, 20.0),))),
    ]
    assert session.embeddings == 1  # the encoder ran for the first prompt only
    for p in patches:  # random weights: any mask is fine, but it must be a mask of this image
        assert p.alpha.dtype == np.uint8
        x0, y0, x1, y1 = p.box
        assert 0 <= x0 <= x1 <= 640 and 0 <= y0 <= y1 <= 480
    # the same prompt answers the same way (the embedding is reused, not perturbed)
    again = session.select_object(ObjectPrompt(box=box))
    assert again.box == patches[0].box and np.array_equal(again.alpha, patches[0].alpha)


def test_sam_prompt_maps_to_the_model_frame(sam_store: Store) -> None:
    """A click in image pixels reaches the decoder in its own frame: compare with the processor."""
    import torch

    segmenter = load_segmenter("sam-tiny-test", sam_store)
    img, _ = scene(256, 128)
    from transformers import SamProcessor

    processor = SamProcessor(image_processor=segmenter.processor)
    ref = processor(images=img, input_points=[[[100.0, 50.0]]], return_tensors="pt")
    seen: dict[str, torch.Tensor] = {}
    original = segmenter.model.forward

    def spy(**kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs)
        return original(**kwargs)

    segmenter.model.forward = spy
    try:
        emb = segmenter.embed(img)
        segmenter.predict(emb, ObjectPrompt(positive=((100.0, 50.0),)))
    finally:
        del segmenter.model.forward
    assert torch.allclose(seen["input_points"].float(), ref["input_points"].float())


def test_a_model_that_is_not_sam_is_refused(tmp_path: Path) -> None:
    from gptstudio.engines.segment.sam import SamSegmenter

    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ModelError, match="Segment Anything"):
        SamSegmenter.load(tmp_path)


def test_the_catalog_offers_segment_anything_in_small_sizes() -> None:
    from gptstudio.models.catalog import load_catalog

    found = {e.id: e for e in load_catalog().for_task("segment")}
    assert {"sam-vit-base", "sam2-hiera-tiny"} <= set(found)
    for e in found.values():
        assert e.engine == "transformers" and e.licence == "Apache-2.0" and not e.restricted
        weights = next(f for f in e.files if f.name == "model.safetensors")
        assert weights.sha256 is not None and "/resolve/" in weights.url  # a pinned revision, hash published
        assert {f.name for f in e.files} >= {"model.safetensors", "config.json"}
