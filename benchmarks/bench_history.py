"""History memory benchmark: 50 results landed on a 24-megapixel photo, as the app lands them.

    python benchmarks/bench_history.py            # prints the table and writes the 'history' section
    python benchmarks/bench_history.py --no-write # prints only

Every result goes through the window: Run (the panel's action), the worker thread, the jobs
controller landing it as an undoable edit. Half are whole-image results (a cheap denoise-like
engine that changes every pixel, as denoise/restore do) and half are small-region results (an
inpaint engine filling a 400×400 mask with another colour each run), alternating. The history
budget is the default for this machine (``history/budget_mb``). Reports peak RSS (goal: under
3 GB), the history's bytes and steps kept, and the longest GUI stall while a result lands and
while undoing/redoing the two kinds of step.

Autosave: before every ``--autosave-every``-th result (and before each undo/redo measured) an
autosave of the 24-MP document is started while the window is quiet, as the one-minute timer
would, so the result lands (or the step runs) while that autosave is in flight. Those stalls are
reported on their own rows, with how many autosaves were still writing when the result landed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.report import machine_line, markdown_table, write_section

RESULTS = 50


def _engines() -> None:
    """Register the two bench engines (cheap, so the numbers are the app's, not a model's)."""
    from gptstudio.engines.base import EngineInfo, InpaintEngine, RestorationEngine
    from gptstudio.models.registry import ModelEntry, register

    whole = EngineInfo(
        id="bench-shift", name="Shift (bench)", tasks=("denoise",), architecture="bench",
        description="Changes every pixel.", tile=0, uses=frozenset({"strength"}), licence="bench",
    )  # fmt: skip
    region = EngineInfo(
        id="bench-patch", name="Patch (bench)", tasks=("inpaint",), architecture="bench",
        description="Fills the mask with a colour.", tile=0, uses=frozenset(), licence="bench",
    )  # fmt: skip

    class Shift(RestorationEngine):
        info = whole
        runs = 0

        def restore(self, rgb, *, strength, mode, state, tile=None):  # type: ignore[no-untyped-def]
            type(self).runs += 1
            return np.mod(rgb + np.float32(0.01 * type(self).runs), 1.0, dtype=np.float32)

    class Patch(InpaintEngine):
        info = region
        runs = 0

        def inpaint(self, rgb, mask, **kwargs):  # type: ignore[no-untyped-def]
            type(self).runs += 1
            out = rgb.copy()
            out[mask > 0.5] = ((type(self).runs * 0.07) % 1.0, 0.5, 0.2)
            return out

    register(ModelEntry(whole, lambda device: Shift(), priority=500))
    register(ModelEntry(region, lambda device: Patch(), priority=500))


def _pump(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.001)


def land(window, task: str, model: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Run one job through the panel; the longest stall from Run to the result drawn, and seconds."""
    from PySide6.QtWidgets import QApplication

    from gptstudio.app.stall_meter import StallMeter

    window.panel.set_task(task)
    window.panel.set_model(model)
    steps = len(window.document.history)
    meter = StallMeter()
    start = time.perf_counter()
    meter.start()
    window.act_run.trigger()
    while len(window.document.history) == steps:
        QApplication.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - start > 300:
            raise TimeoutError("a result did not land in 5 minutes")
    _pump(0.1)  # the first paint of the result belongs to the measurement
    meter.stop()
    return float(meter.worst), time.perf_counter() - start


def step_stall(step) -> float:  # type: ignore[no-untyped-def]
    from gptstudio.app.stall_meter import StallMeter

    meter = StallMeter()
    meter.start()
    _pump(0.03)
    step()
    _pump(0.1)
    meter.stop()
    return float(meter.worst)


def start_autosave(window) -> bool:  # type: ignore[no-untyped-def]
    """An autosave of the document as it is, started once the window is quiet (as the timer's)."""
    saver = window.autosaver
    while saver.busy():  # the last one ends first (its end is reported through the event loop)
        _pump(0.05)
    _pump(0.05)
    saver.mark_changed()
    deadline = time.perf_counter() + 5
    # save_now() starts it, or defers it while the window settles and the poll then starts it
    while not (saver.save_now() or saver.busy()):
        _pump(0.05)
        if time.perf_counter() > deadline:
            return False
    return True


def rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--results", type=int, default=RESULTS)
    parser.add_argument(
        "--autosave-every", type=int, default=5, help="start an autosave before every Nth result"
    )
    args = parser.parse_args(argv)
    import tempfile

    os.environ.setdefault("GPTSTUDIO_DEVICE", "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GPTSTUDIO_DATA_DIR"] = tmp
        from PySide6.QtWidgets import QApplication

        from benchmarks.bench_gui import _window_with, big_photo
        from gptstudio.app.history import budget_bytes

        app = QApplication.instance() or QApplication([])
        _engines()
        window = _window_with(big_photo())
        _pump(0.2)
        alpha = np.zeros((4000, 6000), np.uint8)
        alpha[1800:2200, 2800:3200] = 255
        window.canvas.mask_item.set_alpha(alpha)
        rss_open = rss_mb()
        stalls = {"whole": [], "region": []}
        saving: list[float] = []  # landings with an autosave in flight
        in_flight = 0
        writes: list[float] = []  # seconds each autosave took, pauses included
        began: list[float] = []
        runner = window.autosaver.runner
        runner.busy_changed.connect(
            lambda busy: (
                began.append(time.perf_counter()) if busy else writes.append(time.perf_counter() - began[-1])
            )
        )
        secs = []
        for i in range(args.results):
            kind = "whole" if i % 2 == 0 else "region"
            task, model = ("denoise", "bench-shift") if kind == "whole" else ("inpaint", "bench-patch")
            if kind == "region":  # an inpaint result clears the mask as it lands: paint it again
                window.canvas.mask_item.set_alpha(alpha)
            elif window.canvas.mask_item.alpha_image() is not None:
                window.canvas.mask_item.clear_all()  # a whole-image filter with no mask
            autosaving = args.autosave_every > 0 and i % args.autosave_every == args.autosave_every - 1
            if autosaving and not start_autosave(window):
                raise RuntimeError("the autosave did not start")
            stall, s = land(window, task, model)
            if autosaving:
                saving.append(stall)
                in_flight += window.autosaver.busy()
            stalls[kind].append(stall)
            secs.append(s)
            note = f"  autosave {'writing' if window.autosaver.busy() else 'done'}" if autosaving else ""
            line = f"{i + 1:2d} {kind:6s} stall {stall:4.0f} ms  job {s:4.1f} s  rss {rss_mb():5.0f} MB{note}"
            print(line, flush=True)
        history = window.jobs.history
        kept, held = window.undo_stack.count(), history.total_bytes
        undo_region = step_stall(window.undo_stack.undo)  # the last result was a region one
        undo_whole = step_stall(window.undo_stack.undo)
        redo_whole = step_stall(window.undo_stack.redo)
        steps_saving = []
        for step in (window.undo_stack.redo, window.undo_stack.undo, window.undo_stack.undo):
            if args.autosave_every > 0 and start_autosave(window):
                steps_saving.append(step_stall(step))
        while window.autosaver.busy():
            _pump(0.05)
        _pump(0.05)
        budget = budget_bytes()
        peak = rss_mb()
        window.shutdown()
        del app

    rows = [
        [f"Peak RSS, {args.results} results on 24 MP", f"{peak / 1024:.2f} GB", "< 3 GB",
         f"{rss_open:.0f} MB with the photo open"],
        ["History held at the end", f"{held / 2**20:.0f} MB", f"≤ {budget / 2**20:.0f} MB (budget)",
         f"{kept} undo steps kept of {args.results}"],
        ["Longest GUI stall, whole-image result landing", f"{max(stalls['whole']):.0f} ms", "< 100 ms",
         f"median {np.median(stalls['whole']):.0f} ms"],
        ["Longest GUI stall, region result landing", f"{max(stalls['region']):.0f} ms", "< 100 ms",
         f"median {np.median(stalls['region']):.0f} ms"],
        ["GUI stall, undo of a region result", f"{undo_region:.0f} ms", "< 100 ms", "400×400 box"],
        ["GUI stall, undo of a whole-image result", f"{undo_whole:.0f} ms", "< 100 ms", "rebuilt from uint8"],
        ["GUI stall, redo of a whole-image result", f"{redo_whole:.0f} ms", "< 100 ms", "rebuilt from uint8"],
    ]  # fmt: skip
    if saving:
        landed = f"{len(saving)} landings, {in_flight} with the autosave still writing as they landed"
        steps = ", ".join(f"{v:.0f}" for v in steps_saving)
        rows += [
            ["Longest GUI stall, a result landing while an autosave writes", f"{max(saving):.0f} ms",
             "< 100 ms", f"{landed}; median {np.median(saving):.0f} ms"],
            ["Longest GUI stall, undo/redo while an autosave writes", f"{max(steps_saving):.0f} ms",
             "< 100 ms", f"redo, undo, undo (whole, whole, region): {steps} ms"],
            ["Autosave of the 24-MP document", f"{np.median(writes):.1f} s", "",
             f"median of {len(writes)}, pauses while results land included; longest {max(writes):.1f} s"],
        ]  # fmt: skip
    table = markdown_table(["Measure", "Result", "Goal", "Notes"], rows)
    md = (
        "## History memory (`python benchmarks/bench_history.py`)\n\n"
        f"Machine: {machine_line()}.\n\n{table}\n\n"
        f"{args.results} results landed through the window (Run, worker, landing as an undoable edit) on "
        "a 6000×4000 8-bit photo, alternating a whole-image result (every pixel changes, as denoise and "
        "restore) and a 400×400 region result (an inpaint); cheap engines so the numbers are the app's. "
        f"Jobs took {np.median(secs):.1f} s median. Undo entries hold the changed box in the image's bit "
        "depth; the oldest steps are dropped beyond the budget (default min(1024 MB, 10 % of RAM)). "
        "A stall is the longest gap between ticks of a 5 ms QTimer. "
        f"Before one result in {args.autosave_every}, and before each undo/redo of the last row, an autosave "
        "(a 24-MP .ora) is started while the window is quiet, then the job is run: the autosave parks "
        "at its next encoding step while a result is pending or landing and resumes once the window "
        "has been quiet for 300 ms.\n"
    )
    print(md)
    if not args.no_write:
        write_section("history", md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
