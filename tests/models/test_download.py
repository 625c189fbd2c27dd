"""The downloader against a misbehaving local server: resume, retries, verification, cancel, queue.

Every resume is proven by what the server served (the Range of each request and the bytes sent),
not by the client's word; the server only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from download_server import FileServer

from gptstudio.core.errors import CancelledError, DownloadError
from gptstudio.core.progress import TaskState
from gptstudio.models import download
from gptstudio.models.download import (
    ENV_BASE_URL,
    DownloadProgress,
    DownloadQueue,
    FileSpec,
    download_file,
    effective_url,
)

ROOT = Path(__file__).resolve().parents[2]
FAST = {"backoff": 0.01, "stall_timeout": 5.0}


def payload(size: int, seed: int = 0) -> bytes:
    return hashlib.shake_256(f"weights-{seed}".encode()).digest(size)


def spec_for(url: str, data: bytes, *, name: str = "model.pth", hashed: bool = True) -> FileSpec:
    return FileSpec(name, url, len(data), hashlib.sha256(data).hexdigest() if hashed else None)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with FileServer() as srv:
        yield srv


def test_download_verifies_reports_progress_and_leaves_only_the_file(
    server: FileServer, tmp_path: Path
) -> None:
    data = payload(1_500_000)
    url = server.add("/m/model.pth", data, rate=1_500_000)  # ~1 s, so speed and ETA can be seen
    messages: list[tuple[float, str]] = []
    reports: list[DownloadProgress] = []
    state = TaskState(callback=lambda f, m: messages.append((f, m)))
    start = time.monotonic()
    got = download_file(spec_for(url, data), tmp_path, state=state, on_progress=reports.append, **FAST)
    elapsed = time.monotonic() - start

    assert got.path == tmp_path / "model.pth" and got.path.read_bytes() == data
    assert got.verified and got.sha256 == hashlib.sha256(data).hexdigest() and got.size == len(data)
    assert leftovers(tmp_path) == ["model.pth"], "no .part or sidecar is left behind"
    assert [(r.range, r.status) for r in server.served()] == [(None, 200)]
    # throttled: about ten reports a second, not one per chunk
    assert 3 <= len(reports) <= elapsed * 10 + 4, (len(reports), elapsed)
    assert any(r.speed > 0 and r.eta is not None and r.eta > 0 for r in reports[1:-1])
    assert reports[-1].done == len(data) and reports[-1].fraction == 1.0 and reports[-1].eta == 0
    assert messages[-1][0] == 1.0
    assert any(
        re.fullmatch(r"model\.pth: \d+\.\d of 1\.5 MB, \d+\.\d MB/s, \d+ s left", m) for _, m in messages
    )


def test_dropped_connections_resume_exactly_where_the_bytes_stopped(
    server: FileServer, tmp_path: Path
) -> None:
    data = payload(1_000_000)
    url = server.add("/m/model.pth", data, drop_after=300_000, drop_times=2)
    got = download_file(spec_for(url, data), tmp_path, **FAST)

    assert got.path.read_bytes() == data and got.verified
    served = server.served()
    assert [r.range for r in served] == [None, "bytes=300000-", "bytes=600000-"]
    assert [(r.status, r.start, r.sent) for r in served] == [
        (200, 0, 300_000),
        (206, 300_000, 300_000),
        (206, 600_000, 400_000),
    ]
    assert sum(r.sent for r in served) == len(data), "no byte was fetched twice"


def test_a_killed_download_resumes_from_the_part_left_on_disk(server: FileServer, tmp_path: Path) -> None:
    data = payload(2_000_000)
    url = server.add("/m/model.pth", data, rate=400_000)
    spec = spec_for(url, data)
    child = textwrap.dedent(
        f"""
        from pathlib import Path
        from gptstudio.models.download import FileSpec, download_file
        download_file(FileSpec(*{(spec.name, spec.url, spec.size, spec.sha256)!r}), Path({str(tmp_path)!r}))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=ROOT)
    part = tmp_path / "model.pth.part"
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (part.exists() and part.stat().st_size >= 200_000):
            assert proc.poll() is None, "the child ended before it could be killed"
            time.sleep(0.02)
        assert part.exists() and part.stat().st_size >= 200_000, "the child never wrote its .part"
    finally:
        proc.kill()  # SIGKILL: no cleanup of any kind runs in the child
        proc.wait(10)
    kept = part.stat().st_size
    assert 0 < kept < len(data) and not (tmp_path / "model.pth").exists()

    server.change("/m/model.pth", rate=None)
    got = download_file(spec, tmp_path, **FAST)

    assert got.path.read_bytes() == data and got.verified
    resumed = server.served()[-1]
    assert resumed.range == f"bytes={kept}-" and resumed.status == 206 and resumed.start == kept > 0
    assert resumed.sent == len(data) - kept, "only the missing tail was fetched"
    assert leftovers(tmp_path) == ["model.pth"]


def test_a_wrong_byte_fails_the_hash_and_leaves_nothing(server: FileServer, tmp_path: Path) -> None:
    data = payload(500_000)
    url = server.add("/m/model.pth", data, corrupt_at=123_456)
    with pytest.raises(DownloadError, match="checksum") as info:
        download_file(spec_for(url, data), tmp_path, **FAST)
    assert info.value.title == "Download failed"
    assert leftovers(tmp_path) == [], "no installed file, no .part, no sidecar"


def test_the_resumed_prefix_counts_towards_the_hash(server: FileServer, tmp_path: Path) -> None:
    # the wrong byte arrives before the drop: only hashing the .part's prefix on resume can catch it
    data = payload(500_000)
    url = server.add("/m/model.pth", data, corrupt_at=1_000, drop_after=100_000, drop_times=1)
    with pytest.raises(DownloadError, match="checksum"):
        download_file(spec_for(url, data), tmp_path, **FAST)
    assert [r.range for r in server.served()] == [None, "bytes=100000-"]
    assert leftovers(tmp_path) == []


def test_without_a_published_hash_the_hash_is_computed_and_marked_unverified(
    server: FileServer, tmp_path: Path
) -> None:
    data = payload(200_000)
    url = server.add("/m/model.pth", data)
    got = download_file(spec_for(url, data, hashed=False), tmp_path, **FAST)
    assert not got.verified and got.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("status", [404, 403])
def test_missing_or_forbidden_files_fail_at_once(server: FileServer, tmp_path: Path, status: int) -> None:
    data = payload(1000)
    url = server.add("/m/model.pth", data, fail_status=status, fail_times=-1)
    with pytest.raises(DownloadError, match=str(status)):
        download_file(spec_for(url, data), tmp_path, **FAST)
    assert len(server.served()) == 1, "not retried"
    assert not (tmp_path / "model.pth").exists()


def test_server_errors_are_retried_with_backoff(server: FileServer, tmp_path: Path) -> None:
    data = payload(100_000)
    url = server.add("/m/model.pth", data, fail_status=500, fail_times=3)
    got = download_file(spec_for(url, data), tmp_path, retries=5, backoff=0.05, stall_timeout=5)
    assert got.path.read_bytes() == data
    assert [r.status for r in server.served()] == [500, 500, 500, 200]


def test_giving_up_after_the_retries_says_why(server: FileServer, tmp_path: Path) -> None:
    data = payload(1000)
    url = server.add("/m/model.pth", data, fail_status=503, fail_times=-1)
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"503.*Gave up after 3 tries"):
        download_file(spec_for(url, data), tmp_path, retries=2, backoff=0.1, stall_timeout=5)
    assert len(server.served()) == 3
    assert time.monotonic() - start >= 0.1 + 0.2, "waits grow exponentially between tries"


def test_redirects_are_followed(server: FileServer, tmp_path: Path) -> None:
    data = payload(100_000)
    server.add("/cdn/signed-blob", data)
    url = server.add("/releases/model.pth", b"", redirect_to="/cdn/signed-blob")
    got = download_file(spec_for(url, data), tmp_path, **FAST)
    assert got.path.read_bytes() == data
    assert [(r.path, r.status) for r in server.served()] == [
        ("/releases/model.pth", 302),
        ("/cdn/signed-blob", 200),
    ]


def test_a_stalled_transfer_is_dropped_and_resumed(server: FileServer, tmp_path: Path) -> None:
    data = payload(600_000)
    url = server.add("/m/model.pth", data, stall=4.0, stall_after=200_000)
    start = time.monotonic()
    got = download_file(spec_for(url, data), tmp_path, stall_timeout=0.5, backoff=0.01)
    assert time.monotonic() - start < 3.0, "did not wait for the server to wake up"
    assert got.path.read_bytes() == data
    assert [(r.range, r.sent) for r in server.served()] == [(None, 200_000), ("bytes=200000-", 400_000)]


def test_a_server_that_ignores_range_restarts_from_zero(server: FileServer, tmp_path: Path) -> None:
    data = payload(400_000)
    url = server.add("/m/model.pth", data, drop_after=150_000, drop_times=1, ignore_range=True)
    got = download_file(spec_for(url, data), tmp_path, **FAST)
    assert got.path.read_bytes() == data and got.verified
    second = server.served()[1]
    assert second.range == "bytes=150000-" and second.status == 200 and second.sent == len(data)


@pytest.mark.parametrize("honour_if_range", [True, False], ids=["if-range", "etag-check"])
def test_a_file_changed_on_the_server_is_fetched_whole_not_spliced(
    server: FileServer, tmp_path: Path, honour_if_range: bool
) -> None:
    old, new = payload(300_000, seed=1), payload(300_000, seed=2)
    url = server.add(
        "/m/model.pth", old, drop_after=100_000, drop_times=1, etag='"v1"', honour_if_range=honour_if_range
    )
    spec = FileSpec("model.pth", url, None, None)  # nothing published: only the validators can tell
    with pytest.raises(DownloadError, match="Gave up"):
        download_file(spec, tmp_path, retries=0, **FAST)
    assert (tmp_path / "model.pth.part").stat().st_size == 100_000

    server.change("/m/model.pth", data=new, etag='"v2"')
    got = download_file(spec, tmp_path, **FAST)
    assert got.path.read_bytes() == new, "no mix of the old head and the new tail"
    later = server.served()[1:]
    assert later[0].range == "bytes=100000-" and later[0].if_range == '"v1"'
    assert later[-1].start == 0 and later[-1].sent == len(new)


def test_a_full_disk_is_refused_before_any_byte_is_requested(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(100_000)
    url = server.add("/m/model.pth", data)
    monkeypatch.setattr(download, "free_disk_space", lambda path: 5_000_000)
    big = FileSpec("model.pth", url, 64_000_000, None)
    with pytest.raises(DownloadError, match=r"Not enough free disk space.*64\.0 MB.*5\.0 MB free"):
        download_file(big, tmp_path, **FAST)
    assert server.served() == []
    assert not (tmp_path / "model.pth").exists() and not (tmp_path / "model.pth.part").exists()


def test_an_unannounced_size_is_checked_before_the_body_is_read(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(100_000)
    url = server.add("/m/model.pth", data)
    monkeypatch.setattr(download, "free_disk_space", lambda path: 1000)
    with pytest.raises(DownloadError, match="Not enough free disk space"):
        download_file(FileSpec("model.pth", url, None, None), tmp_path, **FAST)
    assert len(server.served()) == 1 and (tmp_path / "model.pth.part").stat().st_size == 0


def test_cancel_keeps_the_part_and_the_next_try_resumes(server: FileServer, tmp_path: Path) -> None:
    data = payload(1_000_000)
    url = server.add("/m/model.pth", data, rate=1_000_000)
    state = TaskState()

    def cancel_midway(p: DownloadProgress) -> None:
        if p.done >= 200_000:
            state.cancel()

    with pytest.raises(CancelledError):
        download_file(spec_for(url, data), tmp_path, state=state, on_progress=cancel_midway, **FAST)
    kept = (tmp_path / "model.pth.part").stat().st_size
    assert 200_000 <= kept < len(data) and not (tmp_path / "model.pth").exists()

    server.change("/m/model.pth", rate=None)
    got = download_file(spec_for(url, data), tmp_path, **FAST)
    assert got.path.read_bytes() == data
    assert server.served()[-1].range == f"bytes={kept}-" and server.served()[-1].sent == len(data) - kept


def test_a_complete_part_from_an_interrupted_run_is_installed_without_fetching(
    server: FileServer, tmp_path: Path
) -> None:
    data = payload(300_000)
    url = server.add("/m/model.pth", data)
    state = TaskState()

    def cancel_at_the_end(p: DownloadProgress) -> None:
        if p.done == len(data):
            state.cancel()

    with pytest.raises(CancelledError):
        download_file(spec_for(url, data), tmp_path, state=state, on_progress=cancel_at_the_end, **FAST)
    assert (tmp_path / "model.pth.part").stat().st_size == len(data)
    got = download_file(spec_for(url, data), tmp_path, **FAST)
    assert got.verified and got.path.read_bytes() == data
    assert len(server.served()) == 1, "the second run only verified and renamed"


def test_a_part_from_another_file_is_not_trusted(server: FileServer, tmp_path: Path) -> None:
    data = payload(200_000)
    url = server.add("/m/model.pth", data)
    (tmp_path / "model.pth.part").write_bytes(b"x" * 50_000)  # no sidecar: not ours
    got = download_file(spec_for(url, data), tmp_path, **FAST)
    assert got.path.read_bytes() == data and server.served()[0].range is None


def test_an_installed_file_with_the_right_hash_is_not_fetched_again(
    server: FileServer, tmp_path: Path
) -> None:
    data = payload(100_000)
    url = server.add("/m/model.pth", data)
    download_file(spec_for(url, data), tmp_path, **FAST)
    again = download_file(spec_for(url, data), tmp_path, **FAST)
    assert again.verified and len(server.served()) == 1


def test_names_that_are_not_plain_file_names_are_refused(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="not a plain file name"):
        download_file(FileSpec("../evil.pth", server.url("/x"), 10, None), tmp_path / "m", **FAST)
    assert server.served() == [] and not (tmp_path / "evil.pth").exists()


def test_the_base_url_override_sends_every_download_to_the_mirror(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(50_000)
    server.add("/mirror/releases/v1/model.pth", data)
    monkeypatch.setenv(ENV_BASE_URL, server.base_url + "/mirror/")
    assert effective_url("https://example.com/releases/v1/model.pth?x=1") == (
        server.base_url + "/mirror/releases/v1/model.pth?x=1"
    )
    got = download_file(spec_for("https://example.com/releases/v1/model.pth", data), tmp_path, **FAST)
    assert got.path.read_bytes() == data
    assert [r.path for r in server.served()] == ["/mirror/releases/v1/model.pth"]
    monkeypatch.setenv(ENV_BASE_URL, "not a url")
    with pytest.raises(DownloadError, match=ENV_BASE_URL):
        effective_url("https://example.com/a")
    monkeypatch.delenv(ENV_BASE_URL)
    assert effective_url("https://example.com/a") == "https://example.com/a"


def test_the_sidecar_records_what_the_server_said(server: FileServer, tmp_path: Path) -> None:
    data = payload(200_000)
    url = server.add("/m/model.pth", data, drop_after=50_000, drop_times=1, etag='"abc"')
    with pytest.raises(DownloadError):
        download_file(spec_for(url, data), tmp_path, retries=0, **FAST)
    meta = json.loads((tmp_path / "model.pth.part.json").read_text())
    assert meta["url"] == url and meta["etag"] == '"abc"' and meta["total"] == len(data)


# --- the queue ------------------------------------------------------------------------------------


def test_the_queue_runs_jobs_in_order_and_a_cancelled_one_never_starts(
    server: FileServer, tmp_path: Path
) -> None:
    files = {name: payload(200_000, seed=i) for i, name in enumerate(["a.pth", "b.pth", "c.pth"])}
    for name, data in files.items():
        server.add(f"/m/{name}", data, rate=1_000_000)
    finished: list[tuple[str, str]] = []
    queue = DownloadQueue()
    try:
        jobs = [
            queue.submit(
                spec_for(server.url(f"/m/{n}"), d, name=n),
                tmp_path,
                **FAST,
                on_finished=lambda job: finished.append((job.label, job.status)),
            )
            for n, d in files.items()
        ]
        jobs[1].cancel()
        assert all(job.wait(10) for job in jobs)
    finally:
        queue.close(timeout=10)
    assert finished == [("a.pth", "done"), ("b.pth", "cancelled"), ("c.pth", "done")]
    assert [r.path for r in server.served()] == ["/m/a.pth", "/m/c.pth"], "in order; b never requested"
    assert jobs[0].result.verified and jobs[2].progress is not None and jobs[2].progress.done == 200_000
    assert leftovers(tmp_path) == ["a.pth", "c.pth"]


def test_the_queue_cancels_a_running_download_and_goes_on(server: FileServer, tmp_path: Path) -> None:
    slow, quick = payload(2_000_000, seed=1), payload(50_000, seed=2)
    server.add("/m/slow.pth", slow, rate=500_000)
    server.add("/m/quick.pth", quick)
    started = threading.Event()
    queue = DownloadQueue()
    try:
        first = queue.submit(
            spec_for(server.url("/m/slow.pth"), slow, name="slow.pth"),
            tmp_path,
            on_progress=lambda p: p.done > 100_000 and started.set(),
            **FAST,
        )
        second = queue.submit(spec_for(server.url("/m/quick.pth"), quick, name="quick.pth"), tmp_path, **FAST)
        assert queue.pending == [first, second]
        assert started.wait(10)
        first.cancel()
        assert second.wait(10) and first.finished
    finally:
        queue.close(timeout=10)
    assert first.status == "cancelled" and isinstance(first.error, CancelledError)
    assert second.status == "done" and (tmp_path / "quick.pth").read_bytes() == quick
    assert (tmp_path / "slow.pth.part").exists() and not (tmp_path / "slow.pth").exists()
    assert queue.pending == []


def test_a_failed_job_reports_its_error_and_the_queue_keeps_working(
    server: FileServer, tmp_path: Path
) -> None:
    data = payload(10_000)
    server.add("/m/ok.pth", data)
    queue = DownloadQueue()
    try:
        bad = queue.submit(FileSpec("gone.pth", server.url("/m/gone.pth"), None, None), tmp_path, **FAST)
        good = queue.submit(spec_for(server.url("/m/ok.pth"), data, name="ok.pth"), tmp_path, **FAST)
        assert good.wait(10) and bad.finished
    finally:
        queue.close(timeout=10)
    assert bad.status == "failed" and isinstance(bad.error, DownloadError) and "404" in str(bad.error)
    assert good.status == "done"
    with pytest.raises(RuntimeError):
        queue.submit(spec_for(server.url("/m/ok.pth"), data), tmp_path)


def test_no_hashing_thread_outlives_a_download(server: FileServer, tmp_path: Path) -> None:
    data = payload(3_000_000)
    url = server.add("/m/model.pth", data, drop_after=1_000_000, drop_times=1)
    download_file(spec_for(url, data), tmp_path, **FAST)
    with pytest.raises(DownloadError):
        download_file(FileSpec("other.pth", url, None, "0" * 64), tmp_path, **FAST)
    assert [t.name for t in threading.enumerate() if t.name.startswith("gptstudio-")] == []


def test_too_many_redirects_is_a_clear_error(server: FileServer, tmp_path: Path) -> None:
    url = server.add("/loop", b"", redirect_to="/loop")
    with pytest.raises(DownloadError, match="redirect"):
        download_file(FileSpec("model.pth", url, None, None), tmp_path, **FAST)
