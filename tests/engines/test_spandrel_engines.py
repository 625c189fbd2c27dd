"""spandrel engines: weights read safely, detected, described from the model, run with tiles and masks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from spandrel_tiny import TINY, build_all, tiny_compact

from gptstudio import tasks
from gptstudio.core.errors import CancelledError, ModelError
from gptstudio.core.imageio import from_array
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import SizeRequirements
from gptstudio.engines.base import RestorationEngine, UpscaleEngine
from gptstudio.engines.spandrel import Detected, detect, engine_info, load_engine, read_state_dict
from gptstudio.engines.spandrel.engine import build_engine, engine_from_state_dict, mask_regions
from gptstudio.models import registry
from gptstudio.models.registry import ModelEntry
from gptstudio.tasks import InpaintRequest


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    return build_all(tmp_path_factory.mktemp("tiny"))


def picture(h: int = 48, w: int = 64, seed: int = 1) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.dstack([x / w, y / h, 0.5 + 0.4 * np.sin(x / 5) * np.cos(y / 7)])
    noise = np.random.default_rng(seed).normal(0, 0.05, base.shape)
    return np.clip(base + noise, 0, 1).astype(np.float32)


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_authors_files_are_detected_with_architecture_scale_and_tasks(
    files: dict[str, tuple[Path, Path]], name: str, fmt: str
) -> None:
    _build, architecture, scale, task_names = TINY[name]
    path = files[name][0 if fmt == "pth" else 1]
    state_dict = read_state_dict(path)
    assert "params_ema" not in state_dict  # the BasicSR wrapper is gone
    found = detect(state_dict)
    assert (found.architecture, found.scale, found.tasks) == (architecture, scale, task_names)
    assert (found.input_channels, found.output_channels) == (3, 3)
    assert Detected.from_json(found.to_json()) == found  # what model.json stores comes back intact


def test_engine_descriptor_is_built_from_the_loaded_model(files: dict[str, tuple[Path, Path]]) -> None:
    swinir = load_engine(files["swinir-denoise"][1], id="s", name="SwinIR", licence="Apache-2.0")
    assert isinstance(swinir, RestorationEngine)
    info = swinir.info
    assert (info.id, info.architecture, info.licence) == ("s", "SwinIR", "Apache-2.0")
    assert info.tasks == ("denoise", "restore") and info.uses == frozenset({"strength"})
    assert info.size == SizeRequirements(minimum=16)  # spandrel's SwinIR requirement
    assert info.tile == 0  # SwinIR discourages tiling: whole images unless memory forces tiles
    assert (info.supports_half, info.supports_bf16) == (False, True)

    compact = load_engine(files["compact-x4"][0], id="c", name="Compact")
    assert isinstance(compact, UpscaleEngine)
    assert (compact.info.scale, compact.info.tile, compact.info.supports_half) == (4, 512, True)
    drunet = load_engine(files["drunet"][0], id="d", name="DRUNet")
    assert drunet.info.size.multiple_of == 8
    # engine_info from a stored record equals what loading the weights says.
    stored = Detected.from_json(detect(read_state_dict(files["drunet"][1])).to_json())
    assert engine_info(stored, id="d", name="DRUNet") == drunet.info


def test_pickle_that_runs_code_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pth"
    torch.save({"params_ema": tiny_compact(2).state_dict(), "extra": Payload()}, evil)
    for attempt in (lambda: read_state_dict(evil), lambda: load_engine(evil, id="e", name="evil")):
        with pytest.raises(ModelError, match="refused: it contains program code"):
            attempt()
    assert not marker.exists()


def test_torchscript_is_refused_even_under_a_weights_suffix(tmp_path: Path) -> None:
    scripted = torch.jit.script(torch.nn.Conv2d(3, 3, 3))
    for name in ("model.pt", "model.pth"):
        torch.jit.save(scripted, str(tmp_path / name))
        with pytest.raises(ModelError, match="TorchScript program") as err:
            read_state_dict(tmp_path / name)
        assert "\n" not in str(err.value)


def test_unknown_damaged_and_foreign_files_are_clear_errors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    unknown = tmp_path / "unknown.safetensors"
    save_file({"encoder.weight": torch.zeros(4, 4)}, str(unknown))
    with pytest.raises(ModelError, match="No supported architecture"):
        detect(read_state_dict(unknown))
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(unknown.read_bytes()[:40])
    with pytest.raises(ModelError, match="damaged"):
        read_state_dict(damaged)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelError, match="not a weight file"):
        read_state_dict(tmp_path / "notes.txt")
    with pytest.raises(ModelError, match="does not exist"):
        read_state_dict(tmp_path / "missing.pth")


def test_tiled_upscale_agrees_with_the_whole_image(files: dict[str, tuple[Path, Path]]) -> None:
    engine = load_engine(files["compact-x4"][1], id="c", name="Compact")
    assert isinstance(engine, UpscaleEngine)
    image = picture(70, 90)
    previews: list[np.ndarray] = []
    whole = engine.upscale(image, state=TaskState(), tile=0)
    tiled = engine.upscale(image, state=TaskState(preview=previews.append), tile=32)
    assert whole.shape == (280, 360, 3)
    assert np.abs(whole - tiled).max() < 2e-3
    # Tiles appear on the live preview at the document's size, as for the shipped engine.
    assert len(previews) > 3 and previews[-1].shape == image.shape
    assert np.abs(previews[-1] - tiled[::4, ::4]).mean() < 5e-3  # raw tiles, before blending


def test_restoration_strength_blends_and_size_requirements_are_met(
    files: dict[str, tuple[Path, Path]],
) -> None:
    engine = load_engine(files["drunet"][0], id="d", name="DRUNet")
    assert isinstance(engine, RestorationEngine)
    image = picture(37, 53)  # not a multiple of 8: padded for the model, cropped back
    full = engine.restore(image, strength=1.0, mode="all", state=TaskState())
    half = engine.restore(image, strength=0.5, mode="jpeg", state=TaskState())
    assert full.shape == image.shape and np.abs(full - image).mean() > 1e-3
    np.testing.assert_allclose(half, np.clip(image + 0.5 * (full - image), 0, 1), atol=1e-5)
    np.testing.assert_array_equal(engine.restore(image, strength=0.0, mode="all", state=TaskState()), image)


def test_grey_models_run_on_each_colour_channel() -> None:
    torch.manual_seed(0)
    engine = engine_from_state_dict(tiny_compact(2, channels=1).state_dict(), id="g", name="grey")
    image = picture(20, 24)
    out = engine.upscale(image, state=TaskState(), tile=0)
    assert out.shape == (40, 48, 3)
    # Each channel went through the model on its own: a channel's result ignores the others.
    swapped = engine.upscale(image[:, :, ::-1].copy(), state=TaskState(), tile=0)
    np.testing.assert_allclose(swapped[:, :, ::-1], out, atol=1e-6)


def test_cancel_between_tiles(files: dict[str, tuple[Path, Path]]) -> None:
    engine = load_engine(files["compact-x4"][0], id="c", name="Compact")
    state = TaskState()
    seen: list[str] = []

    def progress(_fraction: float, message: str) -> None:
        seen.append(message)
        if message.startswith("Tile 2 "):
            state.cancel()

    state.callback = progress
    with pytest.raises(CancelledError):
        engine.upscale(picture(96, 96), state=state, tile=32)
    assert [m for m in seen if m.startswith("Tile")][-1].startswith("Tile 2 ")


def test_mask_regions_give_each_area_context_and_merge_neighbours() -> None:
    hole = np.zeros((400, 1000), bool)
    hole[100:120, 100:140] = True  # two areas far apart ...
    hole[300:310, 850:870] = True
    hole[330:340, 900:905] = True  # ... the second with a close neighbour
    boxes = mask_regions(hole)
    assert len(boxes) == 2
    (a0, a1, b0, b1), (c0, c1, d0, d1) = boxes
    assert a0 <= 100 - 64 and a1 >= 120 + 64 and b0 <= 100 - 64 and b1 >= 140 + 64
    assert c0 <= 300 - 64 and c1 == 400 and d0 <= 850 - 64 and d1 >= 905 + 64
    speckles = np.random.default_rng(0).random((400, 1000)) > 0.99  # thousands of dots: one crop
    assert mask_regions(speckles) == [(0, 400, 0, 1000)]


class _HalfGrey(torch.nn.Module):
    """A stand-in masked model that records what it is given and fills with mid grey."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[tuple[int, ...]] = []

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(image.shape))
        return image * (1 - mask) + mask * (0.5 + self.weight)


def test_inpaint_works_on_a_crop_at_the_models_resolution() -> None:
    from spandrel import MaskedImageModelDescriptor
    from spandrel import SizeRequirements as SpandrelSize
    from spandrel.architectures.LaMa import LaMaArch

    module = _HalfGrey()
    descriptor = MaskedImageModelDescriptor(
        module,
        module.state_dict(),
        architecture=LaMaArch(),
        purpose="Inpainting",
        tags=[],
        supports_half=False,
        supports_bfloat16=True,
        input_channels=3,
        output_channels=3,
        size_requirements=SpandrelSize(minimum=16, multiple_of=8),
    )
    from gptstudio.engines.spandrel.detect import describe

    info = engine_info(describe(descriptor), id="grey-fill", name="grey fill")
    assert info.tasks == ("inpaint",)
    engine = build_engine(descriptor, info)
    image = picture(300, 1400)
    mask = np.zeros((300, 1400), np.float32)
    mask[100:200, 300:1000] = 1  # a wide area: its crop is larger than the working size
    out = engine.inpaint(
        image, mask, prompt="", negative_prompt="", seed=0, steps=1, guidance=0, strength=1, state=TaskState()
    )
    assert len(module.seen) == 1
    _, _, h, w = module.seen[0]
    assert max(h, w) <= 512 + 8 and h % 8 == 0 and w % 8 == 0
    # Filled and resized back to full size (the border pixels blend with their neighbours).
    np.testing.assert_allclose(out[108:192, 308:992], 0.5, atol=0.02)
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])


@pytest.fixture(scope="module")
def lama_engine() -> object:
    """LaMa at its published size (51 M parameters, random weights), built once for this module."""
    from spandrel.architectures.LaMa import LaMa

    torch.manual_seed(0)
    state_dict = LaMa(in_nc=4, out_nc=3).state_dict()
    return engine_from_state_dict(state_dict, id="test-lama", name="LaMa (random weights)")


def test_lama_inpaints_through_the_task_api(lama_engine: object) -> None:
    engine = lama_engine
    assert engine.info.architecture == "LaMa" and engine.info.tasks == ("inpaint",)
    registry.register(ModelEntry(engine.info, lambda device: engine))
    image = picture(64, 96)
    mask = np.zeros((64, 96), np.float32)
    mask[24:40, 40:60] = 1
    result = tasks.run(
        InpaintRequest(image=from_array(image), mask=mask, model="test-lama", grow=0, feather=0)
    )
    out = result.image.rgb
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])
    assert np.abs(out[mask > 0] - image[mask > 0]).mean() > 1e-3
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert result.params["model"] == "test-lama" and "prompt" not in result.params


def test_a_layer_without_the_reduced_dtype_falls_back_to_fp32(lama_engine: object) -> None:
    """LaMa supports bf16 as a whole but its FFT has no bf16 kernel on some devices (the CPU)."""
    engine = lama_engine
    engine.dtype = torch.bfloat16  # as chosen on a GPU that supports bf16
    engine.model.bfloat16()
    image = picture(32, 48)
    mask = np.zeros((32, 48), np.float32)
    mask[10:20, 16:30] = 1
    kw = dict(prompt="", negative_prompt="", seed=0, steps=1, guidance=0, strength=1)
    out = engine.inpaint(image, mask, state=TaskState(), **kw)
    assert engine.dtype == torch.float32 and next(engine.model.parameters()).dtype == torch.float32
    assert np.isfinite(out).all() and np.abs(out[mask > 0] - image[mask > 0]).mean() > 1e-3
