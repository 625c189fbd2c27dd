"""Nothing is lost and nothing is done twice: killed and resumed, changed inputs, existing outputs, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from batch_helpers import by_path, make_folder, picture, records, register_slow, snapshot
from PIL import Image

from gptstudio.batch import BatchOptions, BatchRunner, run_batch
from gptstudio.core.progress import TaskState

HERE = Path(__file__).resolve().parent
NLM = {"task": "denoise", "model": "classical-nlm", "strength": 0.5}
SLOW = {"task": "denoise", "model": "test-batch-slow", "device": "cpu"}


def _slow_folder(root: Path, count: int) -> Path:
    root.mkdir(parents=True)
    for i in range(count):
        sub = root / ("even" if i % 2 == 0 else "odd")
        sub.mkdir(exist_ok=True)
        Image.fromarray(picture(24, 32, i)).save(sub / f"img{i:02d}.png")
    return root


def _child(args: list[str], seconds: float) -> subprocess.Popen[bytes]:
    """``gptstudio batch ...`` in a new process that knows the slow test engine."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import batch_helpers; batch_helpers.register_slow(); "
        "from gptstudio.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    env = {**os.environ, "GPTSTUDIO_TEST_SLOW_SECONDS": str(seconds)}
    return subprocess.Popen(
        [sys.executable, "-c", code, str(HERE), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_done(out: Path, count: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        manifest = out / "gptstudio-batch.jsonl"
        if manifest.exists() and sum(r["status"] == "done" for r in records(out)) >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the child batch did not get going")


def test_a_killed_batch_resumes_where_it_stopped_and_redoes_nothing(tmp_path: Path) -> None:
    src, out = _slow_folder(tmp_path / "in", 10), tmp_path / "out"
    args = ["batch", "denoise", str(src), "-o", str(out), "--model", "test-batch-slow", "--device", "cpu"]
    proc = _child(args, seconds=0.25)
    _wait_for_done(out, 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    first = [r for r in records(out) if r["status"] == "done"]
    assert 3 <= len(first) < 10
    stamps = {r["path"]: (out / r["output"]).stat().st_mtime_ns for r in first}
    assert not records(out, "end")  # killed: no end record

    register_slow()
    summary = run_batch(BatchOptions(input_dir=src, output_dir=out, **SLOW))

    assert summary.skipped == len(first) and summary.done == 10 - len(first) and summary.failed == 0
    done = [r for r in records(out) if r["status"] == "done"]
    assert sorted(r["path"] for r in done) == sorted({r["path"] for r in done})  # each file done once
    assert len(done) == 10
    for rel, stamp in stamps.items():
        assert (out / by_path(first)[rel]["output"]).stat().st_mtime_ns == stamp  # not rewritten
    second_run = records(out, "run")[-1]["run"]
    assert {r["path"] for r in records(out) if r["run"] == second_run and r["status"] == "skipped"} == set(
        stamps
    )
    assert not [p for p in out.rglob(".*.tmp")]  # no unfinished write left behind
    assert len(list(out.rglob("*.png"))) == 10


def test_a_changed_input_or_changed_options_are_redone(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    options = BatchOptions(input_dir=src, output_dir=out, **NLM)
    assert run_batch(options).done == 4
    Image.fromarray(picture(48, 64, 99)).save(src / "top.png")  # the user edits one photo
    again = run_batch(options)
    assert (again.done, again.skipped) == (1, 3)
    redo = [r for r in records(out) if r["status"] == "done"][-1]
    assert redo["path"] == "top.png" and redo["reason"] == "input changed since the last run"
    stronger = run_batch(BatchOptions(input_dir=src, output_dir=out, **{**NLM, "strength": 0.8}))
    assert stronger.done == 4
    assert all(r["reason"] == "options changed since the last run" for r in records(out)[-4:])
    # Choosing fewer files does not count as an option change.
    narrowed = run_batch(
        BatchOptions(input_dir=src, output_dir=out, include=("*.png",), **{**NLM, "strength": 0.8})
    )
    assert (narrowed.done, narrowed.skipped) == (0, 2)


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "top.png").write_bytes(b"someone else's file")
    summary = run_batch(BatchOptions(input_dir=src, output_dir=out, **NLM))
    assert (summary.done, summary.skipped) == (3, 1)
    assert (out / "top.png").read_bytes() == b"someone else's file"
    assert "pass --overwrite" in by_path(records(out))["top.png"]["reason"]
    forced = run_batch(BatchOptions(input_dir=src, output_dir=out, overwrite=True, **NLM))
    assert (forced.done, forced.skipped) == (1, 3)  # the three done ones are still up to date
    with Image.open(out / "top.png") as im:
        assert im.size == (64, 48)


def test_cancel_stops_after_the_current_file_and_the_manifest_says_so(tmp_path: Path) -> None:
    register_slow()
    src, out = _slow_folder(tmp_path / "in", 6), tmp_path / "out"
    state = TaskState()
    runner = BatchRunner(BatchOptions(input_dir=src, output_dir=out, **SLOW), state)

    def on_progress(fraction: float, message: str) -> None:
        if "even/img02.png" in message and not state.cancelled:
            state.cancel()  # the user presses Stop while the second file is on the model

    state.callback = on_progress
    summary = runner.run()
    assert (summary.done, summary.not_started, summary.cancelled) == (2, 4, True)
    assert sorted(r["path"] for r in records(out)) == ["even/img00.png", "even/img02.png"]
    with Image.open(out / "even/img02.png") as im:  # the current file was finished, not cut short
        im.load()
    end = records(out, "end")[-1]
    assert end["status"] == "cancelled" and end["not_started"] == 4
    assert run_batch(BatchOptions(input_dir=src, output_dir=out, **SLOW)).done == 4  # and it resumes


def test_ctrl_c_in_the_command_stops_cleanly_with_exit_130(tmp_path: Path) -> None:
    src, out = _slow_folder(tmp_path / "in", 8), tmp_path / "out"
    before = snapshot(src)
    args = ["batch", "denoise", str(src), "-o", str(out), "--model", "test-batch-slow", "--device", "cpu"]
    proc = _child(args, seconds=0.3)
    _wait_for_done(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130, stderr.decode()
    assert b"stopped early" in stdout
    done = [r for r in records(out) if r["status"] == "done"]
    assert 1 <= len(done) < 8
    assert records(out, "end")[-1]["status"] == "cancelled"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == sorted(
        r["output"] for r in done
    )
    assert snapshot(src) == before


def test_unfinished_writes_of_a_killed_run_are_cleaned_up_and_nothing_else(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    (out / "nested").mkdir(parents=True)
    (out / "nested" / ".pic.png.0123abcd.tmp").write_bytes(b"half a png")  # what a SIGKILL mid-write leaves
    (out / ".someone-elses.0123abcd.tmp").write_bytes(b"not ours")
    assert run_batch(BatchOptions(input_dir=src, output_dir=out, **NLM)).done == 4
    assert not (out / "nested" / ".pic.png.0123abcd.tmp").exists()
    assert (out / ".someone-elses.0123abcd.tmp").read_bytes() == b"not ours"
