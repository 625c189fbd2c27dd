"""The diffusers adapter on tiny random pipelines of every family the catalog ships.

Each family's folder is built once (``diffusers_tiny``), imported into the test's store like a
user's folder, and run through the task API: what a user notices — the picture has the size
asked for, the same seed gives the same picture, every step moves the progress bar, a preview
appears, Cancel stops within a step, a variation keeps the picture's size, and a prompted inpaint
changes only the masked area.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import diffusers_tiny as tiny
import numpy as np
import pytest
from diffusers_tiny import one_torch_thread  # noqa: F401  (autouse fixture)

from gptstudio import tasks
from gptstudio.core.errors import CancelledError, ModelError
from gptstudio.core.imagedata import from_array
from gptstudio.core.progress import TaskState
from gptstudio.engines import diffusers
from gptstudio.models import registry

pytest.importorskip("diffusers")


def _photo(width: int = 96, height: int = 72) -> object:
    rng = np.random.default_rng(7)
    return from_array(rng.random((height, width, 3), dtype=np.float32))


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_each_family_is_detected_from_its_model_index(family: str) -> None:
    detected = diffusers.detect(tiny.folder(family))
    assert detected.family == family
    assert detected.parameters > 0
    assert "generate" in detected.tasks
    assert ("inpaint" in detected.tasks) == (family != "pixart-sigma")  # PixArt-Σ: text-to-image only


def test_a_pipeline_we_cannot_run_is_refused_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "other"
    shutil.copytree(tiny.folder("sd3"), folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionXLPipeline"
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="StableDiffusionXLPipeline"):
        diffusers.detect(folder)


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_generate_repeats_with_a_seed_and_reports_every_step(family: str) -> None:
    model = tiny.install(family)
    messages: list[str] = []
    previews: list[np.ndarray] = []
    state = TaskState(callback=lambda f, m: messages.append(m), preview=previews.append)
    request = tasks.GenerateRequest(prompt="a red fox", model=model, width=40, height=32, steps=2, seed=11)
    first = tasks.run(request, state)
    again = tasks.run(request)
    assert first.image.size == (40, 32)
    np.testing.assert_array_equal(first.image.rgb, again.image.rgb)
    # the family's own step callback (legacy for aMUSEd and PixArt-Σ) drove the progress bar
    assert "Step 1 of 2" in messages and "Step 2 of 2" in messages
    assert previews and previews[0].ndim == 3 and previews[0].shape[2] == 3
    assert first.params["seed"] == 11 and first.params["prompt"] == "a red fox"
    assert first.params["steps"] == 2 and first.params["variation"] is False


def test_another_seed_gives_another_picture() -> None:
    model = tiny.install("z-image")
    pictures = [
        tasks.run(
            tasks.GenerateRequest(prompt="a fox", model=model, width=32, height=32, steps=2, seed=s)
        ).image.rgb
        for s in (1, 2)
    ]
    assert not np.array_equal(*pictures)


@pytest.mark.parametrize("family", ["amused", "sd3"])  # the legacy callback and callback_on_step_end
def test_cancel_stops_within_a_step(family: str) -> None:
    model = tiny.install(family)
    messages: list[str] = []
    state = TaskState()

    def on_progress(fraction: float, message: str) -> None:
        messages.append(message)
        if message == "Step 1 of 6":
            state.cancel()  # the user presses Cancel during the first step

    state.callback = on_progress
    with pytest.raises(CancelledError):
        tasks.run(
            tasks.GenerateRequest(prompt="a fox", model=model, width=32, height=32, steps=6, seed=1), state
        )
    assert "Step 2 of 6" not in messages


# aMUSEd's own image-to-image pipeline, and FLUX.2 klein's through its inpainting pipeline
@pytest.mark.parametrize("family", ["amused", "flux2-klein"])
def test_variation_keeps_the_picture_size_and_records_its_strength(family: str) -> None:
    model = tiny.install(family)
    photo = _photo(48, 40)
    result = tasks.run(
        tasks.GenerateRequest(image=photo, prompt="a fox", model=model, steps=4, strength=0.5, seed=3)
    )
    assert result.image.size == photo.size
    assert result.params["variation"] is True and result.params["strength"] == 0.5
    assert not np.array_equal(result.image.rgb, photo.rgb)


def test_a_text_to_image_only_model_refuses_a_variation() -> None:
    model = tiny.install("pixart-sigma")
    with pytest.raises(ModelError, match="no image-to-image"):
        tasks.run(tasks.GenerateRequest(image=_photo(), prompt="a fox", model=model, steps=2, strength=0.5))
    assert "variation" not in registry.info(model).uses  # so the panel never offers it


@pytest.mark.parametrize("family", ["amused", "z-image"])
def test_prompted_inpaint_changes_only_the_masked_area(family: str) -> None:
    model = tiny.install(family)
    photo = _photo(160, 120)
    mask = np.zeros((120, 160), np.float32)
    mask[20:40, 30:60] = 1.0
    result = tasks.run(
        tasks.InpaintRequest(image=photo, mask=mask, prompt="a hat", model=model, steps=2, seed=4, feather=2)
    )
    assert result.image.size == photo.size
    far = np.ones((120, 160), bool)
    far[:60, :90] = False  # the mask, grown and feathered, stays well inside this corner
    np.testing.assert_array_equal(result.image.rgb[far], photo.rgb[far])
    assert np.abs(result.image.rgb[25:35, 35:55] - photo.rgb[25:35, 35:55]).max() > 0.01
    assert result.params["prompt"] == "a hat" and "model_box" in result.params


def test_a_small_mask_on_a_big_picture_runs_on_a_window_near_native_size() -> None:
    model = tiny.install("amused")  # the tiny aMUSEd's native size is 64 px
    photo = _photo(400, 300)
    mask = np.zeros((300, 400), np.float32)
    mask[140:150, 190:200] = 1.0
    result = tasks.run(
        tasks.InpaintRequest(image=photo, mask=mask, prompt="a hat", model=model, steps=2, seed=4)
    )
    x0, y0, x1, y1 = result.params["model_box"]
    assert x0 <= 190 and x1 >= 200 and y0 <= 140 and y1 >= 150
    assert (x1 - x0) * (y1 - y0) < 400 * 300 / 4


def test_a_fine_tuned_transformer_file_imports_onto_its_installed_base(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    from gptstudio.models.importer import import_file
    from gptstudio.models.store import Store

    base = tiny.install("z-image", "base-z-image")
    weights = load_file(str(tiny.folder("z-image") / "transformer" / "diffusion_pytorch_model.safetensors"))
    tuned = {k: v + 0.05 for k, v in weights.items()}
    path = tmp_path / "my-finetune.safetensors"
    save_file(tuned, str(path))
    model = import_file(path, Store())
    registry.refresh()
    assert model.engine == "diffusers" and model.extra["base_model"] == base
    request = dict(prompt="a fox", width=32, height=32, steps=2, seed=5)
    ours = tasks.run(tasks.GenerateRequest(model=model.id, **request))
    theirs = tasks.run(tasks.GenerateRequest(model=base, **request))
    assert not np.array_equal(ours.image.rgb, theirs.image.rgb)


@pytest.mark.parametrize("bf16_units", ["1", "0"])
def test_the_cpu_runs_bf16_where_it_has_bf16_units_and_the_estimate_says_so(
    bf16_units: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench_generate: aMUSEd in bf16 takes about 0.55x the fp32 CPU time per step on a CPU with
    bf16 units, so the placement picks it there — and the memory shown before Run is for that dtype."""
    from gptstudio.engines.diffusers import memory

    monkeypatch.setenv("GPTSTUDIO_CPU_BF16", bf16_units)
    registry.clear_cache()
    model = tiny.install("amused")
    result = tasks.run(
        tasks.GenerateRequest(prompt="a fox", model=model, width=32, height=32, steps=2, seed=1)
    )
    dtype = "bfloat16" if bf16_units == "1" else "float32"
    assert result.params["dtype"] == dtype and result.image.size == (32, 32)
    info = registry.info(model)
    shown = memory.estimate_for(info.parameters, info.supports_bf16, 256, 256)
    assert shown == memory.estimate_bytes(info.parameters, dtype, 256, 256)
