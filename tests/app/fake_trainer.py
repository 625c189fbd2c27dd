"""A stand-in for ``gptstudio train`` that speaks the dialog's contract and trains nothing.

It writes the events a real run writes (data, estimate, previews from step 0, steps with a falling
loss, checkpoints, paused/resumed, done/cancelled) to ``--events`` and obeys ``--control`` (run,
pause, cancel), so the dialog's tests run in a second instead of training a network. Environment:
``FAKE_TRAINER_DELAY`` seconds per step (0.02), ``FAKE_TRAINER_CRASH_AT`` a step at which it dies
with a traceback and exit code 3, ``FAKE_TRAINER_MODEL`` a weights file it installs in the store
as the finished model (so the editor's lists can be checked), ``FAKE_TRAINER_FITS=0`` for an
estimate that does not fit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("command")
    p.add_argument("--task", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--preset", default="balanced")
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--name", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--control", required=True)
    p.add_argument("--resume", action="store_true")
    args, _extra = p.parse_known_args(argv)
    events, control = Path(args.events), Path(args.control)
    run = events.parent
    (run / "argv.json").write_text(json.dumps(argv))
    delay = float(os.environ.get("FAKE_TRAINER_DELAY", "0.02"))
    crash_at = int(os.environ.get("FAKE_TRAINER_CRASH_AT", "-1"))
    checkpoint = run / "checkpoints" / "last.json"

    def emit(kind: str, **fields: object) -> None:
        with events.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"event": kind, "time": time.time(), **fields}) + "\n")

    def save(step: int) -> None:
        checkpoint.parent.mkdir(exist_ok=True)
        tmp = checkpoint.with_suffix(".tmp")
        tmp.write_text(json.dumps({"step": step}))
        os.replace(tmp, checkpoint)
        emit("checkpoint", step=step, path=str(checkpoint))

    def preview(step: int) -> None:
        from PIL import Image

        folder = run / "previews"
        folder.mkdir(exist_ok=True)
        images = []
        for label, shade in (("before", 60), ("after", min(250, 60 + step))):
            path = folder / f"{step:06d}-{label}.png"
            Image.new("RGB", (48, 32), (shade, shade, 90)).save(path)
            images.append(
                {"path": str(path), "label": label, "psnr": 20.0 + step / 10 if label == "after" else 18.5}
            )
        emit("preview", step=step, images=images)

    files = sorted(p for p in Path(args.data).rglob("*") if p.is_file())
    emit(
        "data",
        images=len(files),
        train=max(0, len(files) - 1),
        val=min(1, len(files)),
        skipped=[[str(files[-1]), "not an image"]] if len(files) > 3 else [],
        sizes={"min": [64, 48], "max": [640, 480]},
    )
    fits = os.environ.get("FAKE_TRAINER_FITS", "1") == "1"
    emit(
        "estimate",
        seconds_per_step=delay if fits else None,  # the real one's trial steps ran out of memory
        total_seconds=delay * args.steps if fits else None,
        memory_bytes=3 * 2**30 if fits else 90 * 2**30,
        available_bytes=16 * 2**30,
        device="cpu",
        fits=fits,
        warning=None
        if fits
        else "Needs 90.0 GB of memory, 16.0 GB are free: choose Quick or a smaller crop.",
    )
    step = json.loads(checkpoint.read_text())["step"] if args.resume and checkpoint.exists() else 0
    if step == 0:
        preview(0)
    start = time.time()
    while step < args.steps:
        word = control.read_text().strip() if control.exists() else "run"
        if word == "pause":
            save(step)
            emit("paused", step=step)
            while (control.read_text().strip() if control.exists() else "run") == "pause":
                time.sleep(0.02)
            emit("resumed", step=step)
            continue
        if word == "cancel":
            save(step)
            emit("cancelled", step=step)
            return 0
        step += 1
        if step == crash_at:
            raise RuntimeError("the fake trainer crashed on purpose")
        time.sleep(delay)
        rate = 1 / max(delay, 1e-3)
        emit(
            "step",
            step=step,
            steps=args.steps,
            loss=1.0 / (1 + step),
            lr=1e-4,
            steps_per_second=rate,
            seconds_left=(args.steps - step) / rate,
        )
        if step % 10 == 0:
            preview(step)
        if step % 25 == 0:
            save(step)
    save(step)
    model_id = args.name
    weights = os.environ.get("FAKE_TRAINER_MODEL")
    if weights:
        from gptstudio.models.importer import import_file
        from gptstudio.models.store import Store

        model_id = import_file(
            Path(weights), Store(), model_id=args.name, name=f"{args.name} (fine-tuned)"
        ).id
    numbers = {"base": {"val_psnr": 30.5}, "final": {"val_psnr": 31.25}}
    seconds = time.time() - start
    emit("done", model_id=model_id, card=str(run / "card.md"), seconds=seconds, validation=numbers)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
