"""Progress and cancellation without Qt: a TaskState is the progress sink and the cancel token."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gptstudio.core.errors import CancelledError, GptStudioError
from gptstudio.core.progress import CancelToken, TaskState
from gptstudio.core.tiling import tiled_apply


def test_sub_states_map_onto_their_slice() -> None:
    seen: list[tuple[float, str]] = []
    state = TaskState(callback=lambda f, m: seen.append((f, m)))
    state.report(0.0, "start")
    second_half = state.sub(0.5, 1.0)
    second_half.report(0.5, "middle of the second half")
    second_half.sub(0.0, 0.5).report(1.0, "nested")
    state.report(2.0, "clamped")
    assert [f for f, _ in seen] == [0.0, 0.75, 0.75, 1.0]
    assert seen[1][1] == "middle of the second half"


def test_cancel_token_shared_with_sub_states() -> None:
    state = TaskState()
    child = state.sub(0.2, 0.4)
    assert not child.cancelled
    state.cancel()
    assert child.cancelled
    with pytest.raises(CancelledError):
        child.check()
    with pytest.raises(CancelledError):
        child.report(0.5)


def test_cancelled_error_is_a_user_facing_error() -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(GptStudioError, match="cancelled"):
        token.raise_if_cancelled()


def test_cancel_stops_a_running_tiled_job_between_tiles() -> None:
    # The job runs in a worker thread (as in the GUI); the cancel comes from another thread
    # while the third tile is being processed. No further tile may start.
    started: list[int] = []
    third_tile = threading.Event()
    release = threading.Event()
    state = TaskState()
    errors: list[BaseException] = []

    def slow_model(x: np.ndarray) -> np.ndarray:
        started.append(1)
        if len(started) == 3:
            third_tile.set()
            release.wait(5)
        return x

    def worker() -> None:
        try:
            tiled_apply(np.zeros((200, 200, 3), np.float32), slow_model, tile=40, overlap=8, state=state)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    assert third_tile.wait(5)
    state.cancel()
    release.set()
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], CancelledError)
    assert len(started) == 3  # of 36 tiles


def test_preview_callback_optional() -> None:
    shown: list[object] = []
    TaskState().show_preview("ignored without a callback")
    TaskState(preview=shown.append).show_preview("frame")
    assert shown == ["frame"]


def test_time_left_ignores_loading_and_restarts() -> None:
    from gptstudio.core.progress import TimeLeft

    eta = TimeLeft(start=0.0)
    assert eta.update(0.0, 0.0) is None
    assert eta.update(0.0, 5.0) is None  # five seconds of loading at 0 %
    assert eta.update(0.2, 7.0) == pytest.approx(8.0)  # 20 % in 2 s: 8 s for the other 80 %
    assert eta.update(0.0, 8.0) is None  # out of memory: starting again with smaller tiles
    assert eta.update(0.5, 13.0) == pytest.approx(5.0)
    quick = TimeLeft(start=0.0)
    quick.update(0.0, 0.0)
    assert quick.update(0.9, 1.0) is None  # a one-second job gets no guess
