"""The one training loop every recipe runs on: the shipped recipes and the user's fine-tunes.

A recipe says *what* to learn (its networks, how to draw a batch, its losses, its optimisers'
hyper-parameters); this loop says *how*: AdamW per optimiser, a linear warm-up then a cosine
learning rate with a floor, bf16 autocast with fp32 master weights where the hardware has bf16
units (``precision``), gradient accumulation, gradient clipping, an exponential moving average of
the exported network, seeding, checkpoints, and DDP when ``torch.distributed`` is initialised
(``torchrun``, several GPUs or several CPU processes with gloo).

Why our own loop rather than Lightning or accelerate: the bit-exact resume contract (a run killed
and resumed ends with the same weights as one that was not) needs the data order, the numpy and
torch random states and a time-or-steps schedule in the checkpoint, and the GUI protocol needs
pause/cancel between steps; both libraries would be wrapped so tightly that little of them would
remain, and neither is a dependency yet.

A recipe with one optimiser returns a loss from :meth:`Recipe.loss`; a recipe with several (the
inpainting GAN) overrides :meth:`Recipe.step`, calls :meth:`StepContext.backward` for its losses and
:meth:`StepContext.update` for the optimisers it marks ``manual`` (the discriminator), and the loop
steps the others after the step function returns.

Checkpoints hold every module, every optimiser, the EMA, the step, the elapsed time, the history
and the random states (torch; numpy data order per process), written atomically, so ``resume``
after a crash, a kill or a cancel continues the same run.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import CancelledError, InvalidRequestError
from gptstudio.training.events import Observer
from gptstudio.training.precision import autocast, use_bf16
from gptstudio.training.state import load_trainable_state, trainable_state


@dataclass(frozen=True)
class OptimSpec:
    """One AdamW optimiser over the parameters of ``module`` and its learning-rate schedule."""

    module: str
    lr: float
    warmup: int = 0
    #: The cosine ends at ``floor × lr`` rather than zero, so the last steps still learn.
    floor: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 1e-4
    clip: float | None = None
    #: The recipe's step calls :meth:`StepContext.update` for it (a GAN's discriminator).
    manual: bool = False

    def lr_at(self, step: int, progress: float) -> float:
        """Linear warm-up by steps, then a cosine over the run's progress (0..1) down to the floor."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        cos = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        return self.lr * (self.floor + (1.0 - self.floor) * cos)


@dataclass
class LoopConfig:
    """How long and how to train. ``steps`` and ``minutes`` may both be set: the run ends at
    whichever comes first and the schedule follows whichever is further along."""

    steps: int | None
    minutes: float | None = None
    seed: int = 0
    accumulate: int = 1
    #: EMA decay of the exported module (None: no EMA, the trained weights are exported).
    ema: float | None = 0.999
    ema_module: str = "model"
    precision: str = "auto"
    device: str = "cpu"
    checkpoint: Path | None = None
    checkpoint_every: int | None = None
    checkpoint_seconds: float | None = None
    validate_every: int | None = None
    validate_seconds: float | None = None
    preview_every: int | None = None
    resume: bool = False


class Recipe:
    """What a recipe gives the loop. ``modules`` must be on the loop's device before it starts."""

    modules: dict[str, torch.nn.Module]

    def optimizers(self) -> dict[str, OptimSpec]:
        raise NotImplementedError

    def shard(self, rank: int, world: int) -> None:
        """Keep only this process's share of the data (several processes); default: all of it."""

    def sample(self, rng: np.random.Generator, progress: float) -> Any:
        """One (micro-)batch, drawn with ``rng`` only, so the data order is checkpointed."""
        raise NotImplementedError

    def loss(self, batch: Any, ctx: StepContext) -> torch.Tensor:
        raise NotImplementedError

    def step(self, batch: Any, ctx: StepContext) -> dict[str, float]:
        """Forward and backward for one micro-batch; returns the losses to log."""
        loss = self.loss(batch, ctx)
        ctx.backward(loss)
        return {"loss": float(loss.detach())}

    def validate(self, ema: torch.nn.Module, ctx: StepContext) -> dict[str, float]:
        """Numbers for the log and the model card (fixed data; never chooses the weights)."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""


@dataclass
class StepContext:
    """What a recipe's step sees: the (DDP-wrapped) networks, precision, progress."""

    nets: dict[str, torch.nn.Module]
    optims: dict[str, torch.optim.Optimizer]
    specs: dict[str, OptimSpec]
    device: str
    bf16: bool
    accumulate: int = 1
    step: int = 0
    progress: float = 0.0

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        return autocast(self.device, self.bf16)

    def backward(self, loss: torch.Tensor) -> None:
        (loss / self.accumulate).backward()

    def update(self, name: str) -> None:
        """Clip and step the optimiser ``name`` now, then clear its gradients."""
        spec, opt = self.specs[name], self.optims[name]
        if spec.clip:
            torch.nn.utils.clip_grad_norm_(self.nets[spec.module].parameters(), spec.clip)
        opt.step()
        opt.zero_grad(set_to_none=True)


@dataclass
class Result:
    steps: int
    seconds: float
    ema: torch.nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    bf16: bool = False


def world() -> tuple[int, int]:
    """(rank, number of processes) of this training process: (0, 1) without torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Loop:
    """Runs a :class:`Recipe` under a :class:`LoopConfig`; see the module docstring."""

    def __init__(self, recipe: Recipe, config: LoopConfig, observers: list[Observer] | None = None) -> None:
        if config.steps is None and config.minutes is None:
            raise InvalidRequestError("Give --steps, --minutes, or both, so the schedule knows its length.")
        if config.accumulate < 1:
            raise InvalidRequestError("Gradient accumulation needs at least one micro-batch per step.")
        self.recipe, self.config = recipe, config
        self.observers = observers or []
        self.rank, self.world = world()
        self.bf16 = use_bf16(config.device, config.precision)
        self.specs = recipe.optimizers()
        self.nets = dict(recipe.modules)
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [torch.device(config.device).index] if config.device.startswith("cuda") else None
            for name in {s.module for s in self.specs.values()}:
                self.nets[name] = DistributedDataParallel(recipe.modules[name], device_ids=ids)
        self.optims = {n: self._adamw(s) for n, s in self.specs.items()}
        source = recipe.modules[config.ema_module]
        if config.ema is None:  # no average: the trained module itself is exported (LoRA)
            self.ema = source
        else:
            self.ema = copy.deepcopy(source).eval()
            for p in self.ema.parameters():
                p.requires_grad_(False)
        self.rng = np.random.default_rng([config.seed, self.rank])
        self.step, self.elapsed_before, self.history = 0, 0.0, []
        self._start = self._tick = time.monotonic()

    def _adamw(self, spec: OptimSpec) -> torch.optim.Optimizer:
        params = [p for p in self.recipe.modules[spec.module].parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=spec.lr, betas=spec.betas, weight_decay=spec.weight_decay)

    # --- time and progress ------------------------------------------------------------------------

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self._start

    def progress(self) -> float:
        parts = []
        if self.config.steps:
            parts.append(self.step / self.config.steps)
        if self.config.minutes:
            parts.append(self.elapsed() / (self.config.minutes * 60.0))
        value = max(parts)
        if self.world > 1:  # wall time differs a little between processes: the first one decides
            box = [value]
            dist.broadcast_object_list(box, src=0)
            value = box[0]
        return value

    # --- checkpoints -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything a resume needs; numpy data-order states of every process."""
        rng_states: list[Any] = [self.rng.bit_generator.state]
        if self.world > 1:
            rng_states = [None] * self.world
            dist.all_gather_object(rng_states, self.rng.bit_generator.state)
        return {
            "modules": {n: trainable_state(m) for n, m in self.recipe.modules.items()},
            "optims": {n: o.state_dict() for n, o in self.optims.items()},
            "ema": trainable_state(self.ema) if self.config.ema is not None else {},
            "step": self.step,
            "elapsed": self.elapsed(),
            "history": self.history,
            "np_rng": rng_states,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "recipe": self.recipe.extra_state(),
        }

    def save_checkpoint(self) -> Path | None:
        path = self.config.checkpoint
        state = self.state()  # every process takes part (the rng gather)
        if path is None or self.rank != 0:
            return None
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(path, buf.getvalue())
        for o in self.observers:
            o.checkpoint(self.step, path)
        return path

    def load_checkpoint(self, path: Path) -> None:
        ckpt = torch.load(path, map_location=self.config.device, weights_only=True)
        if len(ckpt["np_rng"]) != self.world:
            raise InvalidRequestError(
                f"{path} was written by {len(ckpt['np_rng'])} processes; resume it with as many."
            )
        for name, module in self.recipe.modules.items():
            load_trainable_state(module, ckpt["modules"][name])
        for name, opt in self.optims.items():
            opt.load_state_dict(ckpt["optims"][name])
        if self.config.ema is not None:
            load_trainable_state(self.ema, ckpt["ema"])
        self.step, self.elapsed_before = int(ckpt["step"]), float(ckpt["elapsed"])
        self.history = list(ckpt["history"])
        self.rng.bit_generator.state = ckpt["np_rng"][self.rank]
        torch.set_rng_state(ckpt["torch_rng"].cpu())
        if ckpt["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in ckpt["cuda_rng"]])
        self.recipe.load_extra_state(ckpt["recipe"])
        self._start = time.monotonic()

    # --- one optimiser step -------------------------------------------------------------------------

    def context(self, progress: float) -> StepContext:
        return StepContext(
            self.nets,
            self.optims,
            self.specs,
            self.config.device,
            self.bf16,
            self.config.accumulate,
            self.step,
            progress,
        )

    def _no_sync(self, last: bool) -> contextlib.AbstractContextManager[Any]:
        stack = contextlib.ExitStack()
        if self.world > 1 and not last:
            for net in self.nets.values():
                if hasattr(net, "no_sync"):
                    stack.enter_context(net.no_sync())
        return stack

    def train_step(self, progress: float) -> tuple[dict[str, float], float]:
        """One optimiser step (``accumulate`` micro-batches); returns (mean losses, lr)."""
        ctx = self.context(progress)
        for name, opt in self.optims.items():
            for group in opt.param_groups:
                group["lr"] = self.specs[name].lr_at(self.step, progress)
            opt.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for micro in range(self.config.accumulate):
            batch = self.recipe.sample(self.rng, progress)
            with self._no_sync(micro == self.config.accumulate - 1):
                for k, v in self.recipe.step(batch, ctx).items():
                    totals[k] = totals.get(k, 0.0) + v / self.config.accumulate
        for name, spec in self.specs.items():
            if not spec.manual:
                if spec.clip:
                    torch.nn.utils.clip_grad_norm_(self.recipe.modules[spec.module].parameters(), spec.clip)
                self.optims[name].step()
        self._update_ema()
        self.step += 1
        first = next(iter(self.optims.values()))
        return totals, float(first.param_groups[0]["lr"])

    def _update_ema(self) -> None:
        source = self.recipe.modules[self.config.ema_module]
        if self.config.ema is None:
            return
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            for pe, pm in zip(self.ema.parameters(), source.parameters(), strict=True):
                pe.lerp_(pm.detach(), 1.0 - decay)

    # --- the run ----------------------------------------------------------------------------------

    def _wait_while_paused(self) -> None:
        """Checkpoint on pause or cancel; a pause polls until "run" (or "cancel")."""
        command = self._control()
        if command == "run":
            return
        self.save_checkpoint()
        if command == "pause":
            self._tell("paused", self.step)
            # The time spent paused is not training time (the schedule and the card count it).
            self.elapsed_before, paused_at = self.elapsed(), time.monotonic()
            while (command := self._control()) == "pause":
                time.sleep(0.2)
            self._start = time.monotonic()
            self._tick += self._start - paused_at
            if command == "run":
                self._tell("resumed", self.step)
                return
        self._tell("cancelled", self.step)
        raise CancelledError(f"Training cancelled at step {self.step}; --resume continues it.")

    def _control(self) -> str:
        command = self.observers[0].control() if (self.observers and self.rank == 0) else "run"
        if self.world > 1:
            box = [command]
            dist.broadcast_object_list(box, src=0)
            command = box[0]
        return command

    def _tell(self, what: str, *args: Any) -> None:
        if self.rank == 0:
            for o in self.observers:
                getattr(o, what)(*args)

    def _agree(self, *flags: bool) -> tuple[bool, ...]:
        """The first process's decisions, for every process: a time-based validation or checkpoint
        (which gathers from all) must happen on all of them at the same step, or they would hang."""
        if self.world > 1:
            box = [flags]
            dist.broadcast_object_list(box, src=0)
            flags = box[0]
        return tuple(flags)

    def _validate(self) -> None:
        numbers = self.recipe.validate(self.ema, self.context(self.progress()))
        if numbers:
            entry = {"step": float(self.step), "minutes": self.elapsed() / 60.0, **numbers}
            self.history.append(entry)
            self._tell("validated", self.step, numbers)

    def run(self) -> Result:
        """Train to the end (or until cancelled: :class:`CancelledError` after a checkpoint)."""
        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.recipe.shard(self.rank, self.world)
        if cfg.resume and cfg.checkpoint is not None and cfg.checkpoint.is_file():
            self.load_checkpoint(cfg.checkpoint)
        last_ckpt = last_val = self._tick = time.monotonic()
        saved_at = -1
        step_seconds: float | None = None
        if cfg.preview_every and self.step % cfg.preview_every == 0:
            self._tell("preview", self.step, self.ema)
        while self.progress() < 1.0:
            self._wait_while_paused()
            losses, lr = self.train_step(self.progress())
            now = time.monotonic()
            took, self._tick = now - self._tick, now
            # A moving average of the step time: phases change the speed, pauses do not count.
            step_seconds = took if step_seconds is None else 0.9 * step_seconds + 0.1 * took
            rate = 1.0 / max(step_seconds, 1e-9)
            left = (cfg.steps - self.step) * step_seconds if cfg.steps else None
            self._tell("step", self.step, cfg.steps, losses, lr, rate, left)
            validate, checkpoint = self._agree(
                bool(cfg.validate_every and self.step % cfg.validate_every == 0)
                or bool(cfg.validate_seconds and now - last_val >= cfg.validate_seconds),
                bool(cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0)
                or bool(cfg.checkpoint_seconds and now - last_ckpt >= cfg.checkpoint_seconds),
            )
            if validate:
                self._validate()
                last_val = time.monotonic()
            if cfg.preview_every and self.step % cfg.preview_every == 0:
                self._tell("preview", self.step, self.ema)
            if checkpoint:
                self.save_checkpoint()
                last_ckpt, saved_at = time.monotonic(), self.step
        if saved_at != self.step:
            self.save_checkpoint()
        self._validate()
        return Result(self.step, self.elapsed(), self.ema, self.history, self.bf16)
