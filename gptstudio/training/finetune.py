"""A fine-tune from start to finish: folder, estimate, loop, previews, model card, store.

``gptstudio train --task TASK --data DIR --name NAME`` and the Train dialog (which runs that
command as a subprocess) both end up in :func:`run`. Each step is reported as an event of the
protocol in ``gptstudio.training.events``; the same run folder, checkpoints and card serve both.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gptstudio.core.device import choose_device
from gptstudio.core.errors import CancelledError, GptStudioError
from gptstudio.models.store import Store
from gptstudio.training import register
from gptstudio.training.estimate import estimate
from gptstudio.training.events import EventWriter, Observer
from gptstudio.training.folders import Dataset, require_captions, scan_folder
from gptstudio.training.loop import Loop, LoopConfig, world
from gptstudio.training.plan import Plan
from gptstudio.training.presets import family
from gptstudio.training.runs import Settings, model_id, run_folder, save_settings


class RunEvents(EventWriter):
    """The run's event file, with previews drawn by the plan and written under previews/."""

    def __init__(self, path: Path, control: Path | None, previews: Path) -> None:
        super().__init__(path, control)
        self.plan: Plan | None = None
        self.folder = previews

    def preview(self, step: int, ema: Any) -> None:
        if self.plan is not None:
            images = self.plan.previews(ema, step, self.folder)
            self.emit("preview", step=step, images=images)


class Bar(Observer):
    """A tqdm progress bar on stderr (the CLI's; the dialog reads the event file instead)."""

    def __init__(self, total: int, initial: int = 0) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=initial, unit="step", file=sys.stderr, dynamic_ncols=True)

    def step(
        self,
        step: int,
        steps: int | None,
        losses: dict[str, float],
        lr: float,
        rate: float,
        seconds_left: float | None,
    ) -> None:
        self.bar.n = step
        self.bar.set_postfix(loss=f"{losses.get('loss', 0.0):.4f}", lr=f"{lr:.1e}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _builder(task: str) -> Callable[[Settings, Dataset, str, Store], Plan]:
    kind = family(task)
    if kind == "restoration":
        from gptstudio.training import finetune_restore

        return finetune_restore.build
    if kind == "inpaint":
        from gptstudio.training import finetune_inpaint

        return finetune_inpaint.build
    from gptstudio.training import finetune_lora

    return finetune_lora.build


def run(
    settings: Settings,
    *,
    resume: bool = False,
    events: Path | None = None,
    control: Path | None = None,
    progress: bool = False,
    store: Store | None = None,
    log: Callable[[str], None] = print,
    command: str = "",
) -> dict[str, Any]:
    """Run a fine-tune; returns the ``done`` event. Cancel raises ``CancelledError`` (after the
    checkpoint and the ``cancelled`` event); bad input raises with an ``error`` event written."""
    store = store or Store()
    folder = run_folder(settings.name)
    rank, _world = world()
    # Under torchrun every process trains; only the first one writes events, previews and the model.
    path = (events or folder / "events.jsonl") if rank == 0 else None
    writer = RunEvents(path, control, folder / "previews")
    try:
        s = settings.resolved()
        assert s.steps is not None
        if rank == 0:
            save_settings(settings, folder / "settings.json")
        register.check_name_free(store, model_id(s.name))
        device = choose_device(s.device)
        data = scan_folder(
            s.data,
            damaged=s.damaged,
            captions=s.task == "generate",
            # Restoration crops need pictures at least that large; a fill or a LoRA adapts its size.
            min_side=s.crop if family(s.task) == "restoration" else (16 if s.task == "generate" else 64),
            max_side=None if s.damaged else 2048,
            seed=s.seed,
        )
        if s.task == "generate":
            require_captions(data, s.trigger)
        writer.emit("data", **data.summary())
        if rank == 0:
            log(data.describe())
        plan = _builder(s.task)(s, data, device, store)
        writer.plan = plan
        ckpt = folder / "checkpoints" / "last.pt"
        config = LoopConfig(
            steps=s.steps,
            seed=s.seed,
            accumulate=s.accumulate,
            ema=plan.ema,
            precision=s.precision,
            device=device,
            checkpoint=ckpt,
            checkpoint_every=s.checkpoint_every,
            preview_every=s.preview_every,
            resume=resume,
        )
        loop = Loop(plan.recipe, config, [writer])
        est = estimate(loop, s.steps)
        writer.emit("estimate", **est.to_event())
        if rank == 0:
            log(est.describe())
        bar = Bar(s.steps) if progress and rank == 0 else None
        if bar:
            loop.observers.append(bar)
        base_numbers = _base_validation(folder, plan, loop)
        try:
            result = loop.run()
        finally:
            if bar:
                bar.close()
        if rank != 0:
            return {"event": "done", "rank": rank}
        final = plan.validate(result.ema)
        card = {
            "base": plan.base,
            "task": s.task,
            "recipe": plan.recipe_name,
            "preset": s.preset,
            "data": s.data,
            "images": len(data.items),
            "steps": result.steps,
            "seconds": round(result.seconds, 1),
            "hardware": register.hardware(device),
            "precision": "bf16 autocast" if result.bf16 else "fp32",
            "validation": {"base": base_numbers, "final": final},
            "settings": s.to_json(),
            "command": command,
        }
        meta = {"recipe": plan.recipe_name, "base": plan.base, "steps": str(result.steps)}
        installed, card_path = register.install(
            store, model_id(s.name), s.name, lambda f: plan.export(result.ema, f, meta), card
        )
        from gptstudio.models import registry

        registry.refresh()
        log(f"installed '{installed.id}'; validation {json.dumps(final)} (base {json.dumps(base_numbers)})")
        return writer.emit(
            "done",
            model_id=installed.id,
            card=str(card_path),
            seconds=result.seconds,
            validation={"base": base_numbers, "final": final},
        )
    except CancelledError:
        raise
    except GptStudioError as exc:
        writer.emit("error", message=exc.message)
        raise
    except Exception as exc:
        writer.emit("error", message=f"{type(exc).__name__}: {exc}")
        raise


def _base_validation(folder: Path, plan: Plan, loop: Loop) -> dict[str, float]:
    """The base model's numbers, measured once before the first step and kept for resumes."""
    path = folder / "base_validation.json"
    if loop.rank != 0:
        return {}
    if loop.config.resume and path.is_file():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    with torch.no_grad():
        numbers = plan.validate(loop.ema)
    from gptstudio.core.atomic import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(numbers).encode())
    return numbers
