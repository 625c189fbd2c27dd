"""Pause holds the batch between files (the app's Pause button); on_start names each file as it starts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from batch_helpers import picture, records, register_slow
from PIL import Image

from gptstudio.batch import BatchOptions, BatchRunner


def test_pause_holds_between_files_and_resume_finishes_the_batch(tmp_path: Path) -> None:
    register_slow()
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(4):
        Image.fromarray(picture(16, 20, i)).save(src / f"img{i}.png")
    started: list[str] = []
    runner = BatchRunner(
        BatchOptions(task="denoise", input_dir=src, output_dir=out, model="test-batch-slow", workers=1),
        on_start=started.append,
    )
    runner.pause()
    thread = threading.Thread(target=runner.run)
    thread.start()
    time.sleep(0.4)
    assert started == [] and runner.paused  # nothing goes onto the model while paused
    runner.resume()
    thread.join(10)
    assert not thread.is_alive()
    assert started == [f"img{i}.png" for i in range(4)]
    assert sum(r["status"] == "done" for r in records(out)) == 4


def test_cancel_ends_a_pause(tmp_path: Path) -> None:
    register_slow()
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(picture(16, 20, 0)).save(src / "a.png")
    runner = BatchRunner(BatchOptions(task="denoise", input_dir=src, output_dir=out, model="test-batch-slow"))
    runner.pause()
    thread = threading.Thread(target=runner.run)
    thread.start()
    time.sleep(0.2)
    runner.cancel()
    thread.join(5)
    assert not thread.is_alive()
    assert records(out, "end")[-1]["status"] == "cancelled"
