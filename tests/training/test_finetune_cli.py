"""`gptstudio train --task ...`: a tiny fine-tune from a folder to a model the other commands use.

The base models are tiny random GRT / GIT networks installed in the test's store, so every run
takes seconds; what is checked is what a user sees: the events, the model in the registry and the
CLI, the card, cancel and resume (in-process and by killing a subprocess), and clear errors.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gptstudio import cli
from gptstudio.engines.native import inpaint_io, io
from gptstudio.engines.native.arch import GRT, GRTConfig
from gptstudio.engines.native.inpaint_arch import GIT, GITConfig
from gptstudio.models import registry
from gptstudio.models.store import Store, StoredFile, StoredModel, file_sha256
from gptstudio.training.events import read_events, write_control
from gptstudio.training.runs import training_dir

TINY_GRT = GRTConfig(width=8, enc_blocks=(1,), mid_blocks=1, dec_blocks=(1,), heads=(1, 2), noise_level=True)
TINY_GIT = GITConfig(width=8, local_blocks=(1,), global_blocks=1, global_heads=2)
FAST = ["--preset", "quick", "--crop", "32", "--batch", "2"]


def _install(model_id: str, arch: str, tasks: tuple[str, ...], save: object) -> str:
    store = Store()
    incoming = store.incoming(model_id)
    save(incoming / "model.safetensors")  # type: ignore[operator]
    f = incoming / "model.safetensors"
    store.install(
        StoredModel(
            id=model_id, name=model_id, tasks=tasks, engine="native", architecture=arch,
            files=(StoredFile("model.safetensors", f.stat().st_size, file_sha256(f)),),
        ),
        incoming,
    )  # fmt: skip
    registry.refresh()
    return model_id


def tiny_grt() -> str:
    torch.manual_seed(0)
    return _install("tiny-grt", "native-grt", ("denoise", "restore"), lambda p: io.save(GRT(TINY_GRT), p))


def tiny_git() -> str:
    torch.manual_seed(0)
    return _install("tiny-git", "native-git", ("inpaint",), lambda p: inpaint_io.save(GIT(TINY_GIT), p))


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for i in range(5):
        y, x = np.mgrid[0:96, 0:112].astype(np.float32)
        img = np.dstack([x / 112, y / 96, np.sin(x / (5 + i)) * 0.5 + 0.5]) * 200 + rng.uniform(0, 40, 3)
        folder = root / "day2" if i % 2 else root
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.astype(np.uint8)).save(folder / f"{i}.png")
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    return root


def _events(name: str) -> list[dict]:
    return read_events(training_dir() / name / "events.jsonl")


def test_denoise_finetune_is_registered_and_usable_from_the_cli(photos: Path, tmp_path: Path) -> None:
    base = tiny_grt()
    args = ["train", "--task", "denoise", "--data", str(photos), "--base", base, "--steps", "6",
            "--name", "My Night Denoiser", "--preview-every", "3", *FAST]  # fmt: skip
    assert cli.main(args) == 0
    events = _events("my-night-denoiser")
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["data", "estimate", "preview"] and kinds[-1] == "done"
    assert all("time" in e for e in events)
    data = events[0]
    assert data["images"] == 5 and data["train"] + data["val"] == 5 and data["skipped"][0][0] == "broken.jpg"
    est = events[1]
    assert est["seconds_per_step"] > 0 and est["memory_bytes"] > 0 and est["fits"] and est["device"] == "cpu"
    previews = [e for e in events if e["event"] == "preview"]
    assert [p["step"] for p in previews] == [0, 3, 6]
    first = previews[0]["images"]
    assert [i["label"] for i in first[:2]] == ["before", "after"] and Path(first[1]["path"]).is_file()
    assert all(isinstance(i["psnr"], float) for i in first)
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 7)) and all(e["steps"] == 6 for e in steps)
    assert {"loss", "lr", "steps_per_second", "seconds_left"} <= set(steps[0])
    assert any(e["event"] == "checkpoint" for e in events)
    done = events[-1]
    assert done["model_id"] == "my-night-denoiser"
    card = Path(done["card"]).read_text()
    assert "tiny-grt" in card and str(photos) in card and "val_psnr" in card and "quick" in card
    assert "my-night-denoiser" in [m.id for m in registry.models_for("denoise")]
    settings = json.loads((training_dir() / "my-night-denoiser" / "settings.json").read_text())
    assert settings["task"] == "denoise" and settings["steps"] == 6
    out = tmp_path / "out.png"
    assert cli.main(["denoise", str(photos / "0.png"), "--model", "my-night-denoiser", "-o", str(out)]) == 0
    assert out.is_file()
    batch_out = tmp_path / "batch"
    assert (
        cli.main(
            ["batch", "denoise", str(photos / "day2"), "-o", str(batch_out), "--model", "my-night-denoiser"]
        )
        == 0
    )
    assert sorted(p.name for p in batch_out.glob("*.png")) == ["1.png", "3.png"]


def test_the_shipped_recipes_keep_their_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--recipe still reaches each recipe: the GAN one stops at its own check of the folder (its
    crops are 256 px), the restoration one trains a step and exports."""
    small = tmp_path / "small"
    small.mkdir()
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(small / "a.png")
    assert cli.main(["train", "--recipe", "inpaint-default", "--data", str(small), "--steps", "1"]) != 0
    assert "at least 256 px" in capsys.readouterr().err
    out = tmp_path / "grt.safetensors"
    args = [
        "train",
        "--recipe",
        "restoration-default",
        "--data",
        str(small),
        "--steps",
        "1",
        "--out",
        str(out),
    ]
    assert cli.main(args) == 0
    assert "recipe restoration-default" in capsys.readouterr().out and io.load(out)[1]["steps"] == "1"


def test_restore_from_real_pairs_and_settings_reload(tmp_path: Path, photos: Path) -> None:
    base = tiny_grt()
    bad = tmp_path / "bad"
    for p in photos.rglob("*.png"):
        target = bad / p.relative_to(photos)
        target.parent.mkdir(parents=True, exist_ok=True)
        img = np.asarray(Image.open(p)).astype(np.float32)
        noisy = img + np.random.default_rng(1).normal(0, 20, img.shape)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(target)
    args = ["train", "--task", "restore", "--data", str(photos), "--damaged", str(bad), "--base", base,
            "--steps", "2", "--name", "scans", *FAST]  # fmt: skip
    assert cli.main(args) == 0
    done = _events("scans")[-1]
    assert done["event"] == "done" and "real pairs" in Path(done["card"]).read_text()
    # The saved settings run again (a longer run under the same name replaces the model).
    path = training_dir() / "scans" / "settings.json"
    settings = json.loads(path.read_text())
    settings["steps"] = 3
    path.write_text(json.dumps(settings))
    assert cli.main(["train", "--settings", str(path)]) == 0
    assert Store().get("scans").extra["card"]["steps"] == 3


def test_cancel_exits_3_and_resume_finishes(photos: Path) -> None:
    base = tiny_grt()
    control = training_dir() / "ctl"
    write_control(control, "cancel")
    args = ["train", "--task", "denoise", "--data", str(photos), "--base", base, "--steps", "4",
            "--name", "stopped", "--control", str(control), *FAST]  # fmt: skip
    assert cli.main(args) == 3
    kinds = [e["event"] for e in _events("stopped")]
    assert kinds[-2:] == ["checkpoint", "cancelled"] and "done" not in kinds
    assert not Store().has("stopped")
    write_control(control, "run")
    assert cli.main([*args, "--resume"]) == 0
    assert _events("stopped")[-1]["event"] == "done" and Store().has("stopped")


def test_bad_input_is_an_error_event_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    events = tmp_path / "ev.jsonl"
    args = [
        "train",
        "--task",
        "denoise",
        "--data",
        str(tmp_path / "empty"),
        "--name",
        "x",
        "--events",
        str(events),
    ]
    assert cli.main(args) == 2
    last = read_events(events)[-1]
    assert last["event"] == "error" and "no pictures" in last["message"]
    assert cli.main(["train", "--task", "denoise", "--data", str(tmp_path)]) == 2  # no --name
    args = ["train", "--task", "denoise", "--data", str(tmp_path), "--name", "y", "--base", "nope"]
    assert cli.main(args) == 2


def test_inpaint_finetune_registers_an_inpainter(tmp_path: Path, photos: Path) -> None:
    base = tiny_git()
    args = ["train", "--task", "inpaint", "--data", str(photos), "--base", base, "--steps", "3",
            "--name", "my-inpainter", "--preview-every", "3", *FAST]  # fmt: skip
    assert cli.main(args) == 0
    events = _events("my-inpainter")
    preview = next(e for e in events if e["event"] == "preview")
    assert preview["step"] == 0 and {i["label"] for i in preview["images"]} == {"before", "after"}
    assert "val_hole_psnr" in events[-1]["validation"]["final"]
    assert "my-inpainter" in [m.id for m in registry.models_for("inpaint")]
    mask = np.zeros((96, 112), np.uint8)
    mask[30:60, 40:70] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "filled.png"
    assert cli.main(["inpaint", str(photos / "0.png"), "--mask", str(tmp_path / "mask.png"),
                     "--model", "my-inpainter", "-o", str(out)]) == 0  # fmt: skip
    assert out.is_file()


def _wait_for_checkpoint(events: Path, proc: subprocess.Popen, at_least: int) -> None:
    while proc.poll() is None:
        for e in read_events(events):
            if e["event"] == "checkpoint" and e["step"] >= at_least:
                return
        time.sleep(0.05)
    raise AssertionError(f"the training process ended first: {proc.returncode}")


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(photos: Path) -> None:
    base = tiny_grt()
    env = {**os.environ, "GPTSTUDIO_CPU_BF16": "0"}

    def command(name: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", "gptstudio", "train", "--task", "denoise", "--data", str(photos),
                "--base", base, "--steps", "10", "--checkpoint-every", "2", "--name", name,
                "--threads", "1", *FAST, *extra]  # fmt: skip

    straight = subprocess.run(command("straight"), env=env, capture_output=True, text=True, timeout=300)
    assert straight.returncode == 0, straight.stderr
    events = training_dir() / "killed" / "events.jsonl"
    proc = subprocess.Popen(command("killed"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_checkpoint(events, proc, 4)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert not Store().has("killed")
    resumed = subprocess.run(
        command("killed", "--resume"), env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    a, _ = io.load(Store().get("straight").weights_path())
    b, _ = io.load(Store().get("killed").weights_path())
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)


def test_torchrun_with_two_cpu_processes_trains_one_model(photos: Path) -> None:
    """`torchrun --nproc_per_node 2 -m gptstudio train ...`: gloo DDP; one set of events and one model."""
    base = tiny_grt()
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "GPTSTUDIO_CPU_BF16": "0", "OMP_NUM_THREADS": "1"}
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "gptstudio", "train",
               "--task", "denoise", "--data", str(photos), "--base", base, "--steps", "3", "--name", "ddp",
               *FAST]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    events = _events("ddp")
    assert [e["event"] for e in events].count("done") == 1 and events[-1]["model_id"] == "ddp"
    assert [e["step"] for e in events if e["event"] == "step"] == [1, 2, 3]
    ckpt = torch.load(training_dir() / "ddp" / "checkpoints" / "last.pt", weights_only=True)
    assert len(ckpt["np_rng"]) == 2 and ckpt["np_rng"][0] != ckpt["np_rng"][1]
