"""The shared training loop: loss goes down, resume is bit-exact, pause/cancel, DDP with gloo."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from gptstudio.core.errors import CancelledError
from gptstudio.training.events import EventWriter, read_events, write_control
from gptstudio.training.loop import Loop, LoopConfig, OptimSpec, Recipe

TARGET = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


class Tiny(Recipe):
    """y = W x + noise on 64 fixed inputs; the data order is what the loop's rng draws."""

    def __init__(self, seed: int = 0, accumulate_batch: int = 8) -> None:
        torch.manual_seed(seed)
        self.modules = {
            "model": torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        }
        gen = torch.Generator().manual_seed(123)
        self.x = torch.randn(64, 3, generator=gen)
        self.y = self.x @ TARGET.T
        self.indices = np.arange(64)
        self.batch = accumulate_batch
        self.seen: list[int] = []

    def optimizers(self) -> dict[str, OptimSpec]:
        return {"model": OptimSpec("model", lr=3e-2, warmup=2, clip=1.0)}

    def shard(self, rank: int, world: int) -> None:
        self.indices = self.indices[rank::world]

    def sample(self, rng: np.random.Generator, progress: float) -> torch.Tensor:
        idx = rng.choice(self.indices, size=self.batch)
        self.seen.extend(int(i) for i in idx)
        return torch.from_numpy(idx)

    def loss(self, batch: torch.Tensor, ctx) -> torch.Tensor:
        with ctx.autocast():
            pred = ctx.nets["model"](self.x[batch] + 0.01 * torch.randn(len(batch), 3))
        return ((pred.float() - self.y[batch]) ** 2).mean()

    def validate(self, ema: torch.nn.Module, ctx) -> dict[str, float]:
        with torch.no_grad():
            return {"mse": float(((ema(self.x) - self.y) ** 2).mean())}


def _config(tmp_path: Path, steps: int, **kw: object) -> LoopConfig:
    return LoopConfig(steps=steps, seed=7, precision="fp32", checkpoint=tmp_path / "last.pt", **kw)


def test_loss_goes_down_and_the_ema_is_exported(tmp_path: Path) -> None:
    recipe = Tiny()
    before = Tiny().validate(recipe.modules["model"], None)["mse"]
    result = Loop(recipe, _config(tmp_path, 60, accumulate=2)).run()
    assert result.steps == 60 and result.history[-1]["mse"] < before / 4
    assert not torch.equal(result.ema[0].weight, recipe.modules["model"][0].weight)
    assert (tmp_path / "last.pt").is_file()


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path: Path) -> None:
    straight = Loop(Tiny(), _config(tmp_path / "a", 12, accumulate=2)).run()
    with pytest.raises(CancelledError):
        Loop(Tiny(), _config(tmp_path / "b", 12, accumulate=2), [_StopAt(6)]).run()
    # A fresh process would rebuild the recipe from scratch: a different init is overwritten.
    resumed = Loop(Tiny(seed=99), _config(tmp_path / "b", 12, accumulate=2, resume=True)).run()
    for a, b in zip(straight.ema.state_dict().values(), resumed.ema.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    ckpt_a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    ckpt_b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    for a, b in zip(ckpt_a["modules"]["model"].values(), ckpt_b["modules"]["model"].values(), strict=True):
        assert torch.equal(a, b)
    assert ckpt_a["np_rng"] == ckpt_b["np_rng"]


class _StopAt(EventWriter):
    """Cancels the run once it has done ``step`` steps (a kill with a checkpoint just before)."""

    def __init__(self, at: int) -> None:
        super().__init__(None)
        self.at, self.done = at, 0

    def step(self, step: int, *args: object) -> None:
        self.done = step

    def control(self) -> str:
        return "cancel" if self.done >= self.at else "run"


class _Cancel(EventWriter):
    """Writes "pause" then "cancel" into the control file at chosen steps, as the dialog would."""

    def __init__(self, path: Path, control: Path) -> None:
        super().__init__(path, control)
        write_control(control, "run")
        self.polls = 0

    def step(self, step: int, *args: object) -> None:
        super().step(step, *args)  # type: ignore[arg-type]
        if step == 3:
            write_control(self.control_path, "pause")  # type: ignore[arg-type]

    def control(self) -> str:
        word = super().control()
        if word == "pause":
            self.polls += 1
            if self.polls == 3:
                write_control(self.control_path, "cancel")  # type: ignore[arg-type]
        return word


def test_pause_then_cancel_checkpoints_and_resume_finishes(tmp_path: Path) -> None:
    events, control = tmp_path / "events.jsonl", tmp_path / "control"
    writer = _Cancel(events, control)
    with pytest.raises(CancelledError, match="step 3"):
        Loop(Tiny(), _config(tmp_path, 8), [writer]).run()
    kinds = [e["event"] for e in read_events(events)]
    assert kinds == ["step"] * 3 + ["checkpoint", "paused", "cancelled"]
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 3
    write_control(control, "run")
    resumed = Loop(Tiny(), _config(tmp_path, 8, resume=True), [EventWriter(events, control)]).run()
    straight = Loop(Tiny(), _config(tmp_path / "s", 8)).run()
    assert resumed.steps == 8
    for a, b in zip(straight.ema.state_dict().values(), resumed.ema.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    steps = [e["step"] for e in read_events(events) if e["event"] == "step"]
    assert steps == [1, 2, 3, 4, 5, 6, 7, 8]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        recipe = Tiny()
        result = Loop(
            recipe, LoopConfig(steps=6, seed=3, precision="fp32", checkpoint=Path(out) / "last.pt")
        ).run()
        torch.save(
            {
                "model": recipe.modules["model"].state_dict(),
                "ema": result.ema.state_dict(),
                "seen": recipe.seen,
            },
            Path(out) / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def test_two_processes_with_gloo_split_the_data_and_agree(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for key in ("model", "ema"):
        for a, b in zip(r0[key].values(), r1[key].values(), strict=True):
            assert torch.equal(a, b)
    assert set(r0["seen"]) <= set(range(0, 64, 2)) and set(r1["seen"]) <= set(range(1, 64, 2))
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert len(ckpt["np_rng"]) == 2 and ckpt["np_rng"][0] != ckpt["np_rng"][1]
    # The averaged gradients moved the weights away from the common start.
    assert not torch.equal(r0["model"]["0.weight"], Tiny().modules["model"][0].weight.detach())


def test_the_estimate_measures_real_steps_undoes_them_and_warns_when_memory_is_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gptstudio.training import estimate as estimate_module

    plain = Loop(Tiny(), _config(tmp_path / "a", 6, accumulate=2)).run()
    loop = Loop(Tiny(), _config(tmp_path / "b", 6, accumulate=2))
    est = estimate_module.estimate(loop, 6)
    assert est.seconds_per_step > 0 and est.total_seconds == pytest.approx(6 * est.seconds_per_step)
    assert est.fits and est.warning is None and est.memory_bytes > 0 and est.device == "cpu"
    after = loop.run()
    for a, b in zip(plain.ema.state_dict().values(), after.ema.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    monkeypatch.setattr(estimate_module, "_available_cpu", lambda: 1_000_000)
    short = estimate_module.estimate(Loop(Tiny(), _config(tmp_path / "c", 6)), 6)
    assert not short.fits and "will probably not fit" in short.warning and "quick preset" in short.warning
    assert "WARNING" in short.describe()
