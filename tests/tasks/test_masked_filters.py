"""A mask limits denoise, restore and upscale to the masked area (feathered), like a selection:
pixels far from it are the input's (or, for upscale, a Lanczos enlargement of it), and the result
records that a mask was used and its feather. The CLI takes the same mask with --mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gptstudio.cli import main
from gptstudio.core.errors import MaskError
from gptstudio.core.imageio import from_array, load_image, read_params, save_image
from gptstudio.core.progress import TaskState
from gptstudio.engines.base import EngineInfo, RestorationEngine
from gptstudio.engines.classical.lanczos import resize
from gptstudio.models import registry
from gptstudio.tasks import DenoiseRequest, RestoreRequest, UpscaleRequest, run

INVERT = EngineInfo(
    id="test-masked-invert",
    name="Invert (test)",
    tasks=("denoise", "restore"),
    architecture="test",
    tile=0,
    uses=frozenset({"strength", "mode"}),
)


class _Invert(RestorationEngine):
    info = INVERT

    def restore(self, rgb, *, strength, mode, state, tile=None):  # type: ignore[no-untyped-def]
        return (1.0 - rgb).astype(np.float32)


@pytest.fixture
def invert():  # type: ignore[no-untyped-def]
    registry.register(registry.ModelEntry(INVERT, lambda device: _Invert()))
    yield INVERT.id
    registry.clear_cache()


def _noisy(h: int = 96, w: int = 128) -> np.ndarray:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    clean = np.dstack([x / w, y / h, np.full_like(x, 0.5)])
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    return from_array(noisy).rgb  # as an image holds it (quantized)


def _small_mask(h: int = 96, w: int = 128) -> np.ndarray:
    mask = np.zeros((h, w), np.float32)
    mask[30:50, 40:70] = 1.0
    return mask


@pytest.mark.parametrize("kind", ["denoise", "restore"])
def test_filter_changes_only_the_feathered_mask(kind: str, invert: str) -> None:
    rgb = _noisy(192, 256)
    cls = DenoiseRequest if kind == "denoise" else RestoreRequest
    mask = _small_mask(192, 256)
    result = run(cls(image=from_array(rgb), model=invert, mask=mask, feather=4.0), TaskState())
    out = result.image.rgb
    assert np.array_equal(out[:15], rgb[:15]) and np.array_equal(out[:, :25], rgb[:, :25]), "far pixels kept"
    assert np.array_equal(out[80:], rgb[80:]) and np.array_equal(out[:, 90:], rgb[:, 90:])
    assert np.allclose(out[38:42, 52:58], 1.0 - rgb[38:42, 52:58], atol=2e-3), "inside: the filter's result"
    edge = out[30:50, 36]  # 4 px outside the mask: partly blended by the feather
    assert not np.allclose(edge, rgb[30:50, 36]) and not np.allclose(edge, 1.0 - rgb[30:50, 36])
    assert result.params["masked"] is True and result.params["feather"] == 4.0
    assert "model_box" in result.params, "a small mask runs the model on its box plus context only"


def test_no_mask_is_the_whole_image_and_an_empty_mask_is_refused() -> None:
    rgb = _noisy()
    result = run(DenoiseRequest(image=from_array(rgb), model="classical-nlm"), TaskState())
    assert "masked" not in result.params
    with pytest.raises(MaskError):
        run(
            DenoiseRequest(image=from_array(rgb), model="classical-nlm", mask=np.zeros((96, 128))),
            TaskState(),
        )


def test_upscale_keeps_lanczos_outside_the_mask() -> None:
    rgb = _noisy(48, 64)
    mask = np.zeros((48, 64), np.float32)
    mask[10:30, 10:40] = 1.0
    result = run(
        UpscaleRequest(image=from_array(rgb), model="classical-lanczos", scale=2.0, mask=mask, feather=2.0),
        TaskState(),
    )
    out = result.image.rgb
    assert out.shape == (96, 128, 3)
    assert np.allclose(out[80:], resize(rgb, 128, 96)[80:], atol=1e-5)
    assert result.params["masked"] is True and result.params["feather"] == 2.0


def test_cli_mask_for_denoise(tmp_path: Path) -> None:
    rgb = _noisy()
    src, mask_path, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    save_image(from_array(rgb), src, overwrite=True)
    save_image(from_array(_small_mask()), mask_path, overwrite=True)
    rc = main(
        [
            "denoise",
            str(src),
            "--mask",
            str(mask_path),
            "--feather",
            "3",
            "-o",
            str(out),
            "--model",
            "classical-nlm",
        ]
    )
    assert rc == 0
    result, original = load_image(out).rgb, load_image(src).rgb
    assert np.array_equal(result[:15], original[:15])
    params = read_params(out)
    assert params["masked"] is True and params["feather"] == 3.0
