"""A saved result can be repeated: every setting that changes it is stored and comes back.

Each task runs with non-default values for every field it has, the result is saved with its
parameters, read back from the file, turned into a request again, and that request must equal
the first one field by field and give the same pixels.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from gptstudio import tasks
from gptstudio.core.imageio import from_array, read_params, save_image
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import tiled_apply
from gptstudio.core.vocabulary import RESTORE_MODES
from gptstudio.engines.base import EngineInfo, InpaintEngine, RestorationEngine
from gptstudio.models import registry
from gptstudio.tasks import DenoiseRequest, InpaintRequest, RestoreRequest, UpscaleRequest
from gptstudio.tasks.requests import Request, request_from_params

EVERY_SETTING = frozenset({"strength", "mode", "prompt", "negative_prompt", "seed", "steps", "guidance"})


class SettingsInpaint(InpaintEngine):
    """Fills with a colour that depends on every sampling setting, as a generative model would."""

    info = EngineInfo(id="test-inpaint-all", name="every setting", tasks=("inpaint",), architecture="test",
                      tile=0, uses=EVERY_SETTING, devices=("cpu",))  # fmt: skip

    def inpaint(self, rgb, mask, *, prompt, negative_prompt, seed, steps, guidance, strength, state):  # type: ignore[no-untyped-def]
        key = f"{prompt}|{negative_prompt}|{seed}|{steps}|{guidance}|{strength}".encode()
        colour = np.frombuffer(hashlib.sha256(key).digest()[:3], np.uint8) / 255.0
        return np.where(mask[:, :, None] > 0.5, colour.astype(np.float32), rgb)


class TileSensitiveRestore(RestorationEngine):
    """Pulls each tile towards its own mean, so the tile size visibly changes the result."""

    info = EngineInfo(id="test-restore-tiles", name="tile-sensitive", tasks=("denoise", "restore"),
                      architecture="test", tile=48, overlap=8, uses=frozenset({"strength", "mode"}),
                      devices=("cpu",))  # fmt: skip
    def restore(self, rgb, *, strength, mode, state, tile=None):  # type: ignore[no-untyped-def]
        def run(patch: np.ndarray) -> np.ndarray:
            return 0.5 * patch + 0.5 * patch.mean(axis=(0, 1)) + 0.02 * RESTORE_MODES.index(mode)

        size = self.info.tile if tile is None else tile
        out = tiled_apply(rgb, run, tile=size, overlap=self.info.overlap, state=state)
        return np.clip(rgb + strength * (out - rgb), 0, 1)


@pytest.fixture
def engines() -> None:
    for engine in (SettingsInpaint(), TileSensitiveRestore()):
        registry.register(registry.ModelEntry(engine.info, lambda device, e=engine: e, priority=-1))


def picture(h: int = 64, w: int = 80, alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.dstack([x / w, y / h, 0.5 + 0.3 * np.sin(x / 5)]) + rng.normal(0, 0.06, (h, w, 3))
    rgb = np.clip(rgb, 0, 1).astype(np.float32)
    if alpha:
        a = np.ones((h, w), np.float32)
        a[20:36, 30:50] = 0.0  # a hole erased to transparency
        return np.dstack([rgb, a])
    return rgb


HOLE = np.zeros((64, 80), np.float32)
HOLE[24:40, 10:30] = 1.0

REQUESTS = {
    "denoise": lambda image: DenoiseRequest(image=image, model="classical-nlm", strength=0.7, tile=40),
    "restore": lambda image: RestoreRequest(image=image, model="test-restore-tiles", mode="deblur",
                                            strength=0.8, tile=32),
    "inpaint": lambda image: InpaintRequest(image=image, model="test-inpaint-all", mask=HOLE,
                                            mask_from_alpha=True, prompt="a red door", negative_prompt="blur",
                                            seed=77, steps=20, guidance=6.5, strength=0.9, feather=7.5,
                                            grow=5),
    "inpaint-classical": lambda image: InpaintRequest(image=image, model="classical-telea", mask=HOLE,
                                                      seed=3, feather=1.5, grow=0),
    "upscale": lambda image: UpscaleRequest(image=image, model="classical-lanczos", scale=2.5, tile=0),
}  # fmt: skip


def settings(request: Request) -> dict[str, object]:
    """Every field of a request except the pixels, the mask and where it runs."""
    skip = {"image", "mask", "device", "max_megapixels"}
    return {f.name: getattr(request, f.name) for f in fields(request) if f.name not in skip}


@pytest.mark.parametrize("task", list(REQUESTS))
def test_every_setting_survives_a_saved_png_and_repeats_the_result(
    engines: None, tmp_path: Path, task: str
) -> None:
    image = from_array(picture(alpha=task == "inpaint"))
    request = REQUESTS[task](image)
    result = tasks.run(request)
    out = save_image(result.image, tmp_path / "result.png", params=result.params)
    again = request_from_params(read_params(out), image, mask=getattr(request, "mask", None))
    assert type(again) is type(request)
    expected = settings(request)
    if task == "inpaint-classical":  # Telea uses no sampling settings: they are not recorded
        for name in ("steps", "guidance", "strength", "prompt", "negative_prompt"):
            expected.pop(name)
            assert getattr(again, name) == getattr(InpaintRequest, name)  # the defaults
    assert {k: v for k, v in settings(again).items() if k in expected} == expected
    repeated = tasks.run(again)
    np.testing.assert_array_equal(repeated.image.rgb, result.image.rgb)


def test_the_tile_actually_used_is_recorded(engines: None) -> None:
    image = from_array(picture())
    default = tasks.run(DenoiseRequest(image=image, model="test-restore-tiles"))
    assert default.params["tile"] == 48  # the engine's hint, not "None"
    whole = tasks.run(DenoiseRequest(image=image, model="test-restore-tiles", tile=0))
    assert whole.params["tile"] == 0
    assert not np.array_equal(default.image.rgb, whole.image.rgb)  # so it had to be recorded


def test_inpaint_records_feather_and_grow(tmp_path: Path) -> None:
    result = tasks.run(InpaintRequest(image=from_array(picture()), mask=HOLE, feather=9.0, grow=4))
    stored = read_params(save_image(result.image, tmp_path / "o.jpg", params=result.params))
    assert (stored["feather"], stored["grow"], stored["mask_from_alpha"]) == (9.0, 4, False)


def test_inpaint_from_alpha_makes_the_filled_area_opaque() -> None:
    rgba = picture(alpha=True)
    rgba[50:60, 60:70, 3] = 0.5  # a half-transparent patch away from the hole stays as it was
    result = tasks.run(InpaintRequest(image=from_array(rgba), mask_from_alpha=True, feather=2, grow=1))
    alpha = result.image.alpha
    assert alpha is not None
    np.testing.assert_array_equal(alpha[20:36, 30:50], 1.0)  # the hole is filled and opaque
    np.testing.assert_array_equal(alpha[52:58, 62:68], 0.5)
    np.testing.assert_array_equal(alpha[:10], 1.0)
    assert result.params["mask_from_alpha"] is True
    painted_only = tasks.run(InpaintRequest(image=from_array(rgba), mask=HOLE))
    assert painted_only.image.alpha is not None and painted_only.image.alpha[25, 35] == 0.0


def test_tile_zero_means_the_whole_image_for_every_restoration_path(engines: None) -> None:
    from dataclasses import replace

    from gptstudio.engines.classical import nlm

    small_tiles = nlm.NonLocalMeans()
    small_tiles.info = replace(nlm.INFO, id="nlm-small-tiles", tile=32)
    registry.register(registry.ModelEntry(small_tiles.info, lambda device: small_tiles))
    image = from_array(picture())
    for model, hint in (("nlm-small-tiles", 32), ("test-restore-tiles", 48)):
        for tile, expect_tiles in ((None, True), (0, False)):
            messages: list[str] = []
            state = TaskState(callback=lambda f, m, seen=messages: seen.append(m))
            result = tasks.run(DenoiseRequest(image=image, model=model, tile=tile), state)
            tiles = [m for m in messages if m.startswith("Tile ")]
            assert bool(tiles) == expect_tiles, (model, tile, tiles)
            assert result.params["tile"] == (hint if tile is None else 0)


def test_negative_tile_is_refused_by_every_task(engines: None) -> None:
    from gptstudio.core.errors import InvalidRequestError

    image = from_array(picture())
    for request in (
        DenoiseRequest(image=image, model="classical-nlm", tile=-5),
        RestoreRequest(image=image, model="test-restore-tiles", tile=-5),
        UpscaleRequest(image=image, scale=2, tile=-5),
    ):
        with pytest.raises(InvalidRequestError, match="tile size cannot be negative"):
            tasks.run(request)


@pytest.mark.parametrize("task", list(REQUESTS))
def test_every_setting_survives_a_saved_ora_document_and_repeats_the_result(
    engines: None, tmp_path: Path, task: str
) -> None:
    """The editor's own format: the document's history and mask come back, and so does the job."""
    from gptstudio.app.document import Document, load_ora, save_ora

    # 8-bit values, as an opened photo has: the .ora stores the original as an 8-bit layer.
    image = from_array(np.round(picture(alpha=task == "inpaint") * 255) / 255)
    request = REQUESTS[task](image)
    result = tasks.run(request)
    mask = getattr(request, "mask", None)
    doc = Document(image=result.image, original=image, history=[result.params])
    save_ora(doc, tmp_path / "work.ora", None if mask is None else (mask * 255).astype(np.uint8))
    state = load_ora(tmp_path / "work.ora")
    back_mask = None if state.mask is None else state.mask.astype(np.float32) / 255.0
    if mask is not None:
        np.testing.assert_array_equal(back_mask, mask)
    assert state.document.history == [result.params]
    again = request_from_params(state.document.save_params(), state.document.original, mask=back_mask)
    assert type(again) is type(request)
    expected = settings(request)
    if task == "inpaint-classical":  # Telea uses no sampling settings: they are not recorded
        for name in ("steps", "guidance", "strength", "prompt", "negative_prompt"):
            expected.pop(name)
    assert {k: v for k, v in settings(again).items() if k in expected} == expected
    np.testing.assert_array_equal(tasks.run(again).image.rgb, result.image.rgb)
