"""The GRT restoration Transformer: tiny seeded networks for mechanics, shipped weights for quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gptstudio.core.errors import CancelledError, ModelError
from gptstudio.core.imageio import from_array
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo
from gptstudio.engines.native import io, shipped
from gptstudio.engines.native.arch import GRT, MDTA, MODES, GRTConfig
from gptstudio.engines.native.engine import GRTEngine, size_requirements
from gptstudio.models import registry
from gptstudio.tasks import DenoiseRequest, RestoreRequest, run

TINY = GRTConfig(width=8, enc_blocks=(1,), mid_blocks=1, dec_blocks=(1,), heads=(1, 2))
TINY3 = GRTConfig(
    width=8, enc_blocks=(1, 2), mid_blocks=2, dec_blocks=(2, 1), heads=(1, 2, 4), ffn_expansion=1.5
)


def _tiny(config: GRTConfig = TINY, seed: int = 0) -> GRT:
    torch.manual_seed(seed)
    model = GRT(config)
    with torch.no_grad():  # a non-zero mode bias, so the modes really differ in the tests
        model.mode_embed.weight.normal_(0, 0.5)
    return model.eval()


def _info(model: GRT, tile: int = 32) -> EngineInfo:
    return EngineInfo(
        id="grt-tiny-test",
        name="tiny GRT",
        tasks=("denoise", "restore"),
        architecture="native-grt",
        size=size_requirements(model),
        tile=tile,
        overlap=8,
        uses=frozenset({"strength", "mode"}),
    )


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(1.0 / mse)


def test_forward_keeps_shape_and_refuses_sizes_off_the_multiple() -> None:
    model = _tiny()
    assert model.config.multiple_of == 4
    x = torch.rand(2, 3, 12, 20)
    assert model(x, torch.tensor([0, 3])).shape == x.shape
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.rand(1, 3, 13, 20))


@pytest.mark.parametrize(("height", "width"), [(37, 53), (5, 7), (64, 33)])
def test_engine_accepts_any_size(height: int, width: int) -> None:
    model = _tiny()
    engine = GRTEngine(model, _info(model))
    rgb = np.random.default_rng(1).random((height, width, 3), dtype=np.float32)
    out = engine.restore(rgb, strength=1.0, mode="all", state=TaskState())
    assert out.shape == rgb.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_backward_reaches_every_parameter_and_a_step_lowers_the_loss() -> None:
    torch.manual_seed(0)
    model = GRT(TINY3).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    clean = torch.rand(4, 3, 16, 16)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    modes = torch.tensor([0, 1, 2, 3])
    losses = []
    for _ in range(5):
        loss = (model(noisy, modes) - clean).abs().mean()
        opt.zero_grad()
        loss.backward()
        if not losses:
            missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
            assert missing == []
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_windowed_attention_is_global_attention_for_small_inputs_and_local_for_large() -> None:
    torch.manual_seed(0)
    attn = MDTA(16, 2).eval()
    x = torch.randn(1, 16, 192, 192)
    with torch.no_grad():
        whole = attn(x)
        attn.window = 500  # larger than the input: the same as whole-input statistics
        torch.testing.assert_close(attn(x), whole)
        attn.window = 48
        local = attn(x)
        assert not torch.allclose(local, whole, atol=1e-4)
        # A crop starting on the grid period sees the same grids: identical away from its edges.
        cell = attn.cell()
        crop = attn(x[:, :, 2 * cell :, 2 * cell :])
        inner = (slice(None), slice(None), slice(5 * cell, 6 * cell), slice(5 * cell, 6 * cell))
        shifted = (slice(None), slice(None), slice(3 * cell, 4 * cell), slice(3 * cell, 4 * cell))
        torch.testing.assert_close(crop[shifted], local[inner], atol=1e-5, rtol=1e-4)


def test_half_precision_forward_matches_fp32() -> None:
    """bf16 is what a GPU runs; the attention maths stays in fp32 inside, so outputs stay close."""
    model = _tiny(TINY3)
    model.set_attention_window(48)
    x = torch.rand(1, 3, 96, 64)
    with torch.no_grad():
        ref = model(x, 3)
        half = model.to(torch.bfloat16)(x.to(torch.bfloat16), 3)
    assert half.dtype == torch.bfloat16
    assert (half.float() - ref).abs().max() < 0.1


def test_alignment_covers_every_level() -> None:
    model = _tiny(TINY3)
    assert model.alignment() == model.config.multiple_of  # whole-input attention: no grid
    model.set_attention_window(96)
    assert model.alignment() == 32  # cells of 16, 8, 4 pixels at 1/2, 1/4, 1/8 resolution


@pytest.mark.parametrize("config", [TINY, TINY3])
def test_safetensors_round_trip_and_detection(tmp_path: Path, config: GRTConfig) -> None:
    model = _tiny(config)
    path = tmp_path / "tiny.safetensors"
    io.save(model, path, metadata={"steps": "7"})
    assert io.detect(model.state_dict()) == config
    loaded, meta = io.load(path)
    assert loaded.config == config
    assert meta["steps"] == "7" and meta["architecture"] == "GRT"
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        for mode in range(len(MODES)):
            torch.testing.assert_close(loaded(x, mode), model(x, mode))


def test_foreign_or_damaged_weights_are_refused_clearly(tmp_path: Path) -> None:
    dncnn_like = {"model.0.weight": torch.zeros(64, 3, 3, 3), "model.0.bias": torch.zeros(64)}
    with pytest.raises(ModelError, match="not a GPT Studio restoration Transformer"):
        io.detect(dncnn_like)
    state = _tiny().state_dict()
    state["middle.0.ffn.proj_out.weight"] = torch.zeros(3, 3, 1, 1)
    with pytest.raises(ModelError, match="do not fit"):
        io.build(state)
    pickle = tmp_path / "weights.pth"
    pickle.write_bytes(b"not really")
    with pytest.raises(ModelError, match=r"only \.safetensors"):
        io.load(pickle)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 20)
    with pytest.raises(ModelError, match="Cannot read"):
        io.load(broken)


@pytest.fixture
def tiny_registered(monkeypatch: pytest.MonkeyPatch) -> GRTEngine:
    """A tiny GRT registered in the model registry, removed again after the test."""
    model = _tiny()
    engine = GRTEngine(model, _info(model))
    registry.register(registry.ModelEntry(engine.info, lambda device: engine, priority=99))
    yield engine
    registry.clear_cache()


def test_denoise_and_restore_tasks_run_the_engine(tiny_registered: GRTEngine) -> None:
    rgb = np.random.default_rng(2).random((100, 130, 3), dtype=np.float32)
    messages: list[str] = []
    state = TaskState(callback=lambda f, m: messages.append(m))
    result = run(DenoiseRequest(image=from_array(rgb), strength=1.0), state)
    assert result.params["model"] == "grt-tiny-test" and result.params["strength"] == 1.0
    full = result.image.rgb
    assert full.shape == rgb.shape and not np.allclose(full, rgb, atol=1e-3)
    assert any(m.startswith("Tile 2") for m in messages)  # 100×130 with the tiny tiles: tiled
    untouched = run(DenoiseRequest(image=from_array(rgb), strength=0.0)).image.rgb
    np.testing.assert_allclose(untouched, rgb, atol=1e-6)
    half = run(DenoiseRequest(image=from_array(rgb), strength=0.5)).image.rgb
    np.testing.assert_allclose(half, (rgb + full) / 2, atol=1e-5)
    jpeg = run(RestoreRequest(image=from_array(rgb), mode="jpeg")).image.rgb
    blind = run(RestoreRequest(image=from_array(rgb), mode="all")).image.rgb
    assert run(RestoreRequest(image=from_array(rgb), mode="jpeg")).params["mode"] == "jpeg"
    assert np.abs(jpeg - blind).max() > 1e-3  # the mode is an input of the network


def test_tile_zero_runs_the_whole_image_in_one_pass(tiny_registered: GRTEngine) -> None:
    rgb = np.random.default_rng(4).random((100, 130, 3), dtype=np.float32)  # tiled at the hint
    for tile, tiles_expected in ((None, True), (0, False)):
        messages: list[str] = []
        state = TaskState(callback=lambda f, m, seen=messages: seen.append(m))
        result = run(DenoiseRequest(image=from_array(rgb), tile=tile), state)
        assert any(m.startswith("Tile ") for m in messages) == tiles_expected, (tile, messages)
        assert result.params["tile"] == (32 if tile is None else tile)  # the engine's hint, or as asked


def test_cancel_between_tiles(tiny_registered: GRTEngine) -> None:
    rgb = np.random.default_rng(3).random((200, 150, 3), dtype=np.float32)
    state = TaskState()
    seen: list[str] = []

    def cancel_after_first_tile(fraction: float, message: str) -> None:
        seen.append(message)
        if message.startswith("Tile 2"):
            state.cancel()

    state.callback = cancel_after_first_tile
    with pytest.raises(CancelledError):
        tiny_registered.restore(rgb, strength=1.0, mode="denoise", state=state)
    assert not any(m.startswith("Tile 3") for m in seen)


def _test_photo() -> np.ndarray:
    """A synthetic 'photo' (96×128): smooth shading, hard edges and a fine texture, 0..1 float."""
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    img = np.dstack([x / 128, y / 96, 0.5 + 0.3 * np.sin(x / 9) * np.cos(y / 13)]) * 0.7 + 0.15
    img[20:60, 30:70] = [0.9, 0.2, 0.1]
    img[(x - 95) ** 2 + (y - 60) ** 2 < 300] = [0.1, 0.3, 0.8]
    img += 0.05 * np.sin(x * 1.3)[..., None] * (y > 70)[..., None]
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.mark.skipif(not shipped.WEIGHTS_FILE.is_file(), reason="shipped weights file is not in this checkout")
def test_shipped_weights_load_and_remove_noise() -> None:
    assert shipped.MODEL_CARD.is_file(), "the shipped weights need their model card beside them"
    assert shipped.WEIGHTS_FILE.stat().st_size <= 20 * 1024 * 1024
    engine = shipped.load_engine("cpu")
    assert registry.default_model("denoise") == shipped.INFO.id
    assert registry.default_model("restore") == shipped.INFO.id
    clean = _test_photo()
    rng = np.random.default_rng(0)
    noisy = np.clip(np.rint(clean * 255 + rng.normal(0, 25, clean.shape)), 0, 255) / 255
    out = engine.restore(noisy.astype(np.float32), strength=1.0, mode="denoise", state=TaskState())
    out8 = np.rint(out * 255) / 255
    gain = _psnr(out8, clean) - _psnr(noisy, clean)
    assert gain > 5.0, f"PSNR gain only {gain:.2f} dB"
