"""GRT v3: bf16 on CPUs with bf16 units (detected, overridable) and the noise-level control."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gptstudio.core.device import cpu_bf16_enabled, cpu_has_bf16
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.imageio import from_array
from gptstudio.core.noise_estimate import estimate_noise_sigma
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo
from gptstudio.engines.native import io
from gptstudio.engines.native.arch import GRT, GRTConfig
from gptstudio.engines.native.engine import GRTEngine, size_requirements
from gptstudio.models import registry
from gptstudio.tasks import DenoiseRequest, run

NOISY = GRTConfig(width=8, enc_blocks=(1,), mid_blocks=1, dec_blocks=(1,), heads=(1, 2), noise_level=True)
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 amx_tile\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw\n"


def _trained_like(config: GRTConfig = NOISY, seed: int = 0) -> GRT:
    """A tiny network whose noise-level path is not at its zero start, as after training."""
    torch.manual_seed(seed)
    model = GRT(config)
    with torch.no_grad():
        for proj in getattr(model, "noise_proj", []):
            proj.weight.normal_(0, 0.5)
    return model.eval()


def _info(model: GRT, uses: frozenset[str], id: str = "grt-noise-test") -> EngineInfo:
    return EngineInfo(
        id=id,
        name="tiny GRT with noise level",
        tasks=("denoise", "restore"),
        architecture="native-grt",
        size=size_requirements(model),
        tile=0,
        overlap=8,
        uses=uses,
        supports_bf16=True,
    )


def _noisy_image(sigma: float = 20.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:96, 0:128] / 128.0
    clean = np.dstack([x, y, 0.5 * (x + y) / 2]).astype(np.float32)
    return np.clip(clean + rng.normal(0, sigma / 255, clean.shape), 0, 1).astype(np.float32)


def test_bf16_units_are_detected_from_the_cpu_flags_and_can_be_turned_off(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert cpu_has_bf16(SAPPHIRE) and not cpu_has_bf16(SKYLAKE) and not cpu_has_bf16("")
    monkeypatch.setenv("GPTSTUDIO_CPU_BF16", "0")
    assert not cpu_bf16_enabled() and cpu_bf16_enabled(True)
    monkeypatch.setenv("GPTSTUDIO_CPU_BF16", "1")
    assert cpu_bf16_enabled() and not cpu_bf16_enabled(False)


def test_bf16_engine_runs_in_bf16_and_stays_close_to_fp32() -> None:
    model = _trained_like()
    info = _info(model, frozenset({"strength", "noise_level"}))
    fp32 = GRTEngine(_trained_like(), info, bf16=False)
    bf16 = GRTEngine(model, info, bf16=True)
    assert fp32.dtype == torch.float32 and bf16.dtype == torch.bfloat16
    image = _noisy_image()
    a = fp32.restore(image, strength=1.0, mode="denoise", state=TaskState(), noise_level=20.0)
    b = bf16.restore(image, strength=1.0, mode="denoise", state=TaskState(), noise_level=20.0)
    assert b.dtype == np.float32
    assert np.abs(a - b).max() < 0.03 and np.abs(a - b).mean() < 0.005


def test_bf16_keeps_the_input_exact_where_the_network_adds_nothing() -> None:
    """The residual sum stays in fp32: a zero-output network returns the fp32 input bit for bit,
    where a bf16 input would have rounded it to 8 mantissa bits."""
    model = _trained_like()
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.zero_()
    engine = GRTEngine(model, _info(model, frozenset({"strength"})), bf16=True)
    image = _noisy_image()
    np.testing.assert_array_equal(engine.restore(image, strength=1.0, mode="all", state=TaskState()), image)


def test_the_noise_level_changes_the_result_and_defaults_to_the_estimate() -> None:
    model = _trained_like()
    engine = GRTEngine(model, _info(model, frozenset({"strength", "noise_level"})), bf16=False)
    image = _noisy_image(20.0)
    state = TaskState()
    auto = engine.restore(image, strength=1.0, mode="denoise", state=state)
    estimate = estimate_noise_sigma(image)
    assert state.notes["noise_sigma"] == pytest.approx(estimate, abs=0.01)
    same = engine.restore(image, strength=1.0, mode="denoise", state=TaskState(), noise_level=estimate)
    np.testing.assert_allclose(auto, same, atol=1e-6)
    harder = engine.restore(image, strength=1.0, mode="denoise", state=TaskState(), noise_level=60.0)
    assert np.abs(harder - auto).mean() > 1e-3


def test_weights_without_the_noise_input_load_into_it_unchanged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    old = _trained_like(GRTConfig(width=8, enc_blocks=(1,), mid_blocks=1, dec_blocks=(1,), heads=(1, 2)))
    new = GRT(NOISY)
    missing = new.load_state_dict(old.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("noise_") for k in missing)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(new.eval()(x, 1, 35.0), old(x, 1), rtol=0, atol=0)
    io.save(new, tmp_path / "v3.safetensors")
    loaded, _ = io.load(tmp_path / "v3.safetensors")
    assert loaded.config.noise_level and not io.detect(old.state_dict()).noise_level


def test_the_task_passes_the_level_records_it_and_refuses_it_for_models_without_the_control() -> None:
    model = _trained_like()
    with_control = GRTEngine(model, _info(model, frozenset({"strength", "noise_level"})), bf16=False)
    registry.register(registry.ModelEntry(with_control.info, lambda device: with_control, priority=99))
    image = from_array(_noisy_image())
    result = run(DenoiseRequest(image=image, noise_level=42.0))
    assert result.params["noise_level"] == 42.0 and result.params["noise_sigma"] == 42.0
    auto = run(DenoiseRequest(image=image))
    assert "noise_level" not in auto.params and auto.params["noise_sigma"] > 0
    blind = GRTEngine(model, _info(model, frozenset({"strength"}), id="grt-blind-test"), bf16=False)
    registry.register(registry.ModelEntry(blind.info, lambda device: blind, priority=1))
    with pytest.raises(InvalidRequestError, match="no noise-level control"):
        run(DenoiseRequest(image=image, noise_level=10.0, model="grt-blind-test"))


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_tiled_and_untiled_agree_within_2_levels(bf16: bool) -> None:
    """The shipped network over tiles (the engine's overlap and attention window) against one
    pass over the whole image, in both precisions: seams would show as larger differences."""
    from gptstudio.engines.native import shipped

    engine = shipped.load_engine("cpu", bf16=bf16)
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:320, 0:352] / 64.0
    clean = np.dstack([np.sin(x) * 0.3 + 0.5, np.cos(y) * 0.3 + 0.5, (x + y) / 11]).clip(0, 1)
    noisy = np.clip(clean + rng.normal(0, 20 / 255, clean.shape), 0, 1).astype(np.float32)
    whole = engine.restore(noisy, strength=1.0, mode="denoise", state=TaskState(), tile=0)
    tiled = engine.restore(noisy, strength=1.0, mode="denoise", state=TaskState(), tile=256)
    diff = np.abs(whole - tiled) * 255
    # fp32 agrees within 2/255 everywhere; bf16 rounding differs a little with the tile's shape
    # (oneDNN picks other kernels), so its float output may pass 2/255 by a hair: what is saved,
    # the 8-bit image, stays within 2 levels, and on average they agree within half a level.
    assert diff.mean() < 0.5
    if bf16:
        assert np.abs(np.rint(whole * 255) - np.rint(tiled * 255)).max() <= 2
    else:
        assert diff.max() <= 2.0
