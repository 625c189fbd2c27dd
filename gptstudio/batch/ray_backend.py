"""Run a batch on a Ray cluster with Ray Data: the same outputs and manifest as on one machine.

For archives too large for one computer. The driver (where ``gptstudio batch --ray ...`` runs)
checks the options, plans the files and keeps the manifest exactly as the local runner does (the
shared :class:`~gptstudio.batch.session.Session`); the planned files become a Ray Dataset
(``ray.data.from_items``) and ``map_batches`` hands them, one file per call, to a pool of actors.
Each actor loads the model once in its constructor and keeps it for every file it gets; per file
it runs the very functions the local runner uses (:func:`gptstudio.batch.work.process_file`:
hash, resume decision, decode, task, atomic write) and returns the manifest record, which the
driver appends. Outputs are therefore byte-identical to a local run — for learned models on the
CPU when each actor has as many threads (``cpus_per_worker``) as the local run had cores: torch
sums in an order that depends on its thread count, and one thread instead of two moves a few
pixels by one level. Classical engines give the same bytes whatever the count.

Pool size: one actor per GPU (``num_gpus=1``) when the cluster has GPUs and the model can use
them, else one per ``cpus_per_worker`` CPUs; ``workers`` overrides the count.

Stopping: :meth:`RayRunner.cancel` (the first Ctrl-C) creates a hidden stop file in the output
folder; actors finish the file they are on and skip the rest, so every output written has its
record. :meth:`RayRunner.abort` stops reading results at once.

Pointing it at a real cluster
-----------------------------
* Install ``gptstudio[cluster]`` (the same version) on the driver and on every node, e.g. in the
  cluster's image or with ``pip install "gptstudio[cluster]"`` in its setup commands; the actors
  import :mod:`gptstudio` and load the model there (download community models on every node with
  ``gptstudio models pull ID``, or share ``GPTSTUDIO_DATA_DIR``).
* The input, output and mask folders must be the same paths on every node and on the driver: a
  shared file system (NFS, a mounted bucket). Nothing is shipped through Ray's object store but the
  file names and the records.
* Start the cluster (``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on the
  others, or the cluster launcher / KubeRay), then run on a node of it
  ``gptstudio batch denoise /shared/in -o /shared/out --ray auto``, or from outside through Ray
  Client: ``--ray ray://HEAD:10001``. ``--ray local`` starts a private instance on this machine.
* ``--workers N`` sets the number of actors and ``--cpus-per-worker C`` the CPUs each reserves.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gptstudio.batch.discovery import PlannedFile
from gptstudio.batch.options import BatchOptions
from gptstudio.batch.session import BatchSummary, RecordCallback, Session
from gptstudio.batch.work import BatchContext, process_file
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.progress import TaskState

#: Hidden file in the output folder that tells actors to start no further files.
STOP_FILE = ".gptstudio-batch.stop"
NOT_STARTED = "not started"


def import_ray() -> Any:
    """Ray, or a clear message saying how to get it (it is an optional extra)."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise InvalidRequestError(
            "Running a batch on a cluster needs the cluster extra: install gptstudio[cluster] "
            '(pip install "gptstudio[cluster]").'
        ) from exc
    return ray


class FileWorker:
    """A Ray Data actor: loads the model once, then processes one planned file per call."""

    def __init__(self, ctx: BatchContext, cpus: float) -> None:
        import sys

        import cv2

        from gptstudio.tasks.common import resolve_engine

        self.ctx = ctx
        o = ctx.options
        resolve_engine(o.task, ctx.model_id, o.device)  # loaded now, cached for every file
        self.stop_file = o.output_dir / STOP_FILE
        # Each actor uses its share of the node's cores, not all of them.
        threads = max(1, int(cpus))
        cv2.setNumThreads(threads)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        records = []
        for row in _rows(batch):
            if self.stop_file.exists():
                records.append(json.dumps({"status": NOT_STARTED}))
                continue
            item = PlannedFile(
                rel=row["rel"],
                source=Path(row["source"]),
                output=Path(row["output"]),
                output_rel=row["output_rel"],
                mask=Path(row["mask"]) if row["mask"] else None,
                problem=row["problem"] or None,
            )
            previous = json.loads(row["previous"]) if row["previous"] else None
            records.append(json.dumps(process_file(self.ctx, item, previous), default=str))
        return {"record": np.array(records, dtype=object)}


def _rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    keys = list(batch)
    count = len(batch[keys[0]]) if keys else 0
    return [{k: batch[k][i] for k in keys} for i in range(count)]


class RayRunner:
    """Run one batch through Ray Data; same interface as :class:`~gptstudio.batch.BatchRunner`."""

    def __init__(
        self,
        options: BatchOptions,
        address: str = "local",
        state: TaskState | None = None,
        *,
        workers: int | None = None,
        cpus_per_worker: float = 1.0,
        on_record: RecordCallback | None = None,
    ) -> None:
        if cpus_per_worker <= 0:
            raise InvalidRequestError("Each worker needs a positive number of CPUs (--cpus-per-worker).")
        self.options = options
        self.address = address
        self.state = state or TaskState()
        self.workers = workers if workers is not None else options.workers
        self.cpus = cpus_per_worker
        self.on_record = on_record
        self._aborted = False

    def cancel(self) -> None:
        """Actors finish the files they are on and start no more; their records are kept."""
        self.state.cancel()
        try:
            (self.options.output_dir / STOP_FILE).touch()
        except OSError:
            pass

    def abort(self) -> None:
        """Stop reading results now (files still running on actors are not recorded)."""
        self._aborted = True
        self.cancel()

    def run(self) -> BatchSummary:
        ray = import_ray()
        session = Session(self.options, self.state, self.on_record, backend="ray", load_model=False)
        stop_file = self.options.output_dir / STOP_FILE
        stop_file.unlink(missing_ok=True)
        started_here = _connect(ray, self.address)
        interrupted = False
        try:
            self._run(ray, session)
        except BaseException:
            interrupted = True
            raise
        finally:
            if started_here:
                ray.shutdown()
            stop_file.unlink(missing_ok=True)
            summary = session.close(cancelled=interrupted or session.stopping)
        return summary

    def _run(self, ray: Any, session: Session) -> None:
        if not session.items:
            return
        info = session.info
        gpus = ray.cluster_resources().get("GPU", 0) if info.devices != ("cpu",) else 0
        cpus = ray.cluster_resources().get("CPU", 1)
        if self.workers is not None:
            workers = self.workers
        elif gpus >= 1:
            workers = int(gpus)
        else:
            workers = max(1, int(cpus // self.cpus))
        workers = max(1, min(workers, len(session.items)))
        rows = [_row(item, session.previous(item)) for item in session.items]
        _quiet(ray)
        dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), 200)).map_batches(
            FileWorker,
            fn_constructor_kwargs={"ctx": session.ctx, "cpus": self.cpus},
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=self.cpus,
            num_gpus=1 if gpus >= 1 else None,
        )
        session.file_started()
        for row in dataset.iter_rows():
            record = json.loads(row["record"])
            if record.get("status") != NOT_STARTED:
                session.finish(record)
            if self._aborted:
                break


def _row(item: PlannedFile, previous: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "rel": item.rel,
        "source": str(item.source),
        "output": str(item.output),
        "output_rel": item.output_rel,
        "mask": str(item.mask) if item.mask is not None else "",
        "problem": item.problem or "",
        "previous": json.dumps(previous, default=str) if previous else "",
    }


def _connect(ray: Any, address: str) -> bool:
    """Join or start Ray; True when this call started it (and so must shut it down)."""
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)
    return True


def _quiet(ray: Any) -> None:
    """Ray Data's own progress bars and INFO lines would tear through ours."""
    import logging

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
