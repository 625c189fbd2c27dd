"""The Ray backend on a local two-CPU Ray instance gives the same outputs and manifest as a local run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from batch_helpers import LIMIT_MP, by_path, make_folder, records, snapshot

from gptstudio.batch import BatchOptions, plan, run_batch
from gptstudio.batch.work import BatchContext

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from gptstudio.batch.ray_backend import NOT_STARTED, FileWorker, RayRunner, _row  # noqa: E402

# Ray Data's own context warns about its deprecated settings when it is pickled; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
COMPARED = ("status", "reason", "sha256", "output", "params", "model", "options_key", "megapixels")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024 * 1024)
    yield
    ray.shutdown()


def test_ray_path_writes_the_same_outputs_and_manifest(tmp_path: Path, local_ray: None) -> None:
    src = make_folder(tmp_path / "in")
    before = snapshot(src)
    settings = {"task": "denoise", "model": "classical-nlm", "strength": 0.5, "max_megapixels": LIMIT_MP}
    plain = run_batch(BatchOptions(input_dir=src, output_dir=tmp_path / "plain", **settings))
    options = BatchOptions(input_dir=src, output_dir=tmp_path / "ray", **settings)
    summary = RayRunner(options, "local", workers=2).run()

    assert (summary.done, summary.failed, summary.backend) == (plain.done, plain.failed, "ray")
    local, remote = by_path(records(tmp_path / "plain")), by_path(records(tmp_path / "ray"))
    assert local.keys() == remote.keys()
    for rel in local:
        assert {k: local[rel][k] for k in COMPARED} == {k: remote[rel][k] for k in COMPARED}, rel
        if local[rel]["status"] == "done":
            out = local[rel]["output"]
            assert (tmp_path / "plain" / out).read_bytes() == (tmp_path / "ray" / out).read_bytes()
    assert records(tmp_path / "ray", "run")[-1]["backend"] == "ray"
    assert records(tmp_path / "ray", "end")[-1]["status"] == "finished"
    assert snapshot(src) == before

    again = RayRunner(options, "local", workers=2).run()  # resumes like the local path
    assert (again.done, again.skipped, again.failed) == (0, plain.done, plain.failed)
    assert not (tmp_path / "ray" / ".gptstudio-batch.stop").exists()


def test_actors_start_no_further_file_once_the_batch_is_stopped(tmp_path: Path) -> None:
    src = make_folder(tmp_path / "in", bad=False)
    options = BatchOptions(task="denoise", input_dir=src, output_dir=tmp_path / "out", model="classical-nlm")
    rows = [_row(item, None) for item in plan(options)]
    batch = {key: np.array([r[key] for r in rows], dtype=object) for key in rows[0]}
    threads = cv2.getNumThreads()
    try:
        worker = FileWorker(BatchContext(options, "classical-nlm", None, "key", "run"), cpus=1)
        first = worker({key: values[:1] for key, values in batch.items()})
        RayRunner(options).cancel()  # what the first Ctrl-C does on the driver
        rest = worker({key: values[1:] for key, values in batch.items()})
    finally:
        cv2.setNumThreads(threads)
    assert '"status": "done"' in first["record"][0]
    assert all(record == f'{{"status": "{NOT_STARTED}"}}' for record in rest["record"])
    assert len(list((tmp_path / "out").rglob("*.png"))) == 1
