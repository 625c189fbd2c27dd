"""Fine-tunes of other bases: an installed spandrel network, and a LoRA on a tiny diffusers pipeline
that changes the generator's output, follows its strength and can be removed again."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: spandrel_tiny
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))  # diffusers_tiny

import diffusers_tiny
from diffusers_tiny import one_torch_thread  # noqa: F401  (autouse fixture)
from spandrel_tiny import save_as_authors_do, tiny_drunet, tiny_swinir

from gptstudio import cli
from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.core.progress import TaskState
from gptstudio.models import registry
from gptstudio.models.importer import import_file
from gptstudio.models.store import Store
from gptstudio.tasks import GenerateRequest
from gptstudio.tasks.generate import generate
from gptstudio.training import finetune
from gptstudio.training.events import read_events
from gptstudio.training.runs import Settings, training_dir


def _photos(root: Path, n: int, size: int = 64, captions: dict[int, str] | None = None) -> Path:
    rng = np.random.default_rng(3)
    root.mkdir(parents=True)
    for i in range(n):
        y, x = np.mgrid[0:size, 0:size].astype(np.float32)
        img = np.dstack([x / size, y / size, np.cos(y / (3 + i)) * 0.5 + 0.5]) * 220 + rng.uniform(0, 30, 3)
        Image.fromarray(img.astype(np.uint8)).save(root / f"{i}.png")
        if captions and i in captions:
            (root / f"{i}.txt").write_text(captions[i])
    return root


def test_a_spandrel_denoiser_is_fine_tuned_and_stays_a_spandrel_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    _pth, st = save_as_authors_do(tiny_swinir(1), tmp_path, "swinir-tiny")
    base = import_file(st, Store(), model_id="swinir-tiny").id
    photos = _photos(tmp_path / "photos", 3, 96)
    args = ["train", "--task", "denoise", "--data", str(photos), "--base", base, "--steps", "2",
            "--name", "swinir-mine", "--preset", "quick", "--crop", "32", "--batch", "2",
            "--damage", "camera"]  # fmt: skip
    assert cli.main(args) == 0
    model = Store().get("swinir-mine")
    assert model.engine == "spandrel" and model.architecture == "SwinIR"
    assert "swinir-mine" in [m.id for m in registry.models_for("denoise")]
    out = tmp_path / "out.png"
    assert cli.main(["denoise", str(photos / "0.png"), "--model", "swinir-mine", "-o", str(out)]) == 0
    # DRUNet takes a noise map as a fourth channel: not a picture-in, picture-out network.
    torch.manual_seed(0)
    _pth, st = save_as_authors_do(tiny_drunet(), tmp_path, "drunet-tiny")
    drunet = import_file(st, Store(), model_id="drunet-tiny").id
    settings = Settings(
        task="denoise", data=str(photos), name="drunet-mine", base=drunet, preset="quick", steps=1
    )
    with pytest.raises(ModelError, match="cannot be fine-tuned"):
        finetune.run(settings, log=lambda _: None)


def _picture(model: str, **kw: object) -> np.ndarray:
    request = GenerateRequest(
        model=model, prompt="a photo of sks dog", width=32, height=32, steps=2, seed=7, **kw
    )
    return generate(request, TaskState()).image.rgb


def test_a_lora_changes_the_pictures_follows_its_strength_and_can_be_removed(tmp_path: Path) -> None:
    base = diffusers_tiny.install("sd3")
    photos = _photos(tmp_path / "dog", 3, 48, captions={0: "a photo of sks dog on grass"})
    # No --base: the installed SD3 model is the one a LoRA can be trained for.
    settings = Settings(task="generate", data=str(photos), name="dog", preset="quick", steps=3,
                        crop=32, lr=5e-2, preview_every=3)  # fmt: skip
    with pytest.raises(InvalidRequestError, match="2 of 3 pictures have no caption"):
        finetune.run(settings, log=lambda _: None)
    assert read_events(training_dir() / "dog" / "events.jsonl")[-1]["event"] == "error"
    settings.trigger = "sks dog"
    done = finetune.run(settings, log=lambda _: None)
    assert done["model_id"] == "dog"
    lora = Store().get("dog")
    assert lora.engine == "lora" and lora.architecture == "lora-sd3" and lora.extra["card"]["base"] == base
    transformer_bytes = sum(
        f.stat().st_size for f in (Store().get(base).folder / "transformer").glob("*.safetensors")
    )
    assert lora.files[0].size < transformer_bytes / 2
    # A LoRA is not a generator of its own: the generate list is unchanged.
    assert "dog" not in [m.id for m in registry.models_for("generate")]
    previews = [e for e in read_events(training_dir() / "dog" / "events.jsonl") if e["event"] == "preview"]
    assert [p["step"] for p in previews] == [0, 3]
    assert previews[0]["images"][0]["label"] == "sks dog" and previews[0]["images"][0]["psnr"] is None
    assert not np.array_equal(
        np.asarray(Image.open(previews[0]["images"][0]["path"])),
        np.asarray(Image.open(previews[1]["images"][0]["path"])),
    )
    plain = _picture(base)
    tuned = _picture(base, lora="dog")
    assert np.abs(tuned - plain).max() > 1e-3
    half = _picture(base, lora="dog", lora_strength=0.5)
    assert 0 < np.abs(half - plain).mean() < np.abs(tuned - plain).mean()
    assert np.array_equal(_picture(base), plain)  # removed again
    with pytest.raises(InvalidRequestError, match="no LoRA 'cat'"):
        _picture(base, lora="cat")


def test_z_image_gets_a_lora_too_and_a_masked_token_model_is_refused(tmp_path: Path) -> None:
    base = diffusers_tiny.install("z-image")
    photos = _photos(tmp_path / "cat", 2, 48)
    args = ["train", "--task", "generate", "--data", str(photos), "--name", "cat", "--base", base,
            "--trigger", "sks cat", "--preset", "quick", "--steps", "2", "--crop", "32", "--lr", "0.05",
            "--sample-prompt", "sks cat", "--sample-prompt", "sks cat asleep"]  # fmt: skip
    assert cli.main(args) == 0
    preview = next(e for e in read_events(training_dir() / "cat" / "events.jsonl") if e["event"] == "preview")
    assert [i["label"] for i in preview["images"]] == ["sks cat", "sks cat asleep"]
    assert Store().get("cat").architecture == "lora-z-image"
    plain = _picture(base)
    assert np.abs(_picture(base, lora="cat") - plain).max() > 1e-3
    assert np.array_equal(_picture(base), plain)
    amused = diffusers_tiny.install("amused")
    with pytest.raises(InvalidRequestError, match=r"Stable Diffusion 3\.5 and Z-Image"):
        finetune.run(Settings(task="generate", data=str(photos), name="x", base=amused, trigger="t", steps=1),
                     log=lambda _: None)  # fmt: skip
    # A LoRA of one family is refused by a model of another.
    with pytest.raises(InvalidRequestError, match="trained for a z-image model"):
        _picture(amused, lora="cat")


def test_a_lora_run_checkpoints_only_the_adapters_and_resumes(tmp_path: Path) -> None:
    from gptstudio.training.events import write_control

    base = diffusers_tiny.install("z-image")
    photos = _photos(tmp_path / "cat", 2, 48)
    control = tmp_path / "control"
    write_control(control, "cancel")
    args = ["train", "--task", "generate", "--data", str(photos), "--name", "cat", "--base", base,
            "--trigger", "sks cat", "--preset", "quick", "--steps", "2", "--crop", "32",
            "--control", str(control)]  # fmt: skip
    assert cli.main(args) == 3
    ckpt = torch.load(training_dir() / "cat" / "checkpoints" / "last.pt", weights_only=True)
    saved = ckpt["modules"]["model"]
    # The adapters only: the frozen Transformer is the installed model's file, not the checkpoint's.
    assert saved and all("lora_A" in k or "lora_B" in k for k in saved)
    write_control(control, "run")
    assert cli.main([*args, "--resume"]) == 0 and Store().has("cat")
