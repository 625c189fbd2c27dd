"""Batch processing of folders: the same tasks as the editor, over every image of a folder.

``run_batch(BatchOptions(...))`` plans the files (recursion, patterns, masks, mirrored outputs),
runs them with the model loaded once while decoding and writing overlap, keeps a JSON-lines
manifest in the output folder so a killed batch resumes without redoing anything, and returns a
:class:`BatchSummary`. ``ray_backend.run_batch_ray`` runs the same batch on a Ray cluster.
This package knows nothing of Qt or the command line; both drive it through ``TaskState``.
"""

from __future__ import annotations

from gptstudio.batch.discovery import IMAGE_EXTENSIONS, MANIFEST_NAME, PlannedFile, plan
from gptstudio.batch.manifest import ManifestIndex, iter_records, read_manifest
from gptstudio.batch.options import BATCH_TASKS, OUTPUT_FORMATS, BatchOptions, check_options
from gptstudio.batch.runner import BatchRunner, files_in_flight, run_batch
from gptstudio.batch.session import BatchSummary

__all__ = [
    "BATCH_TASKS",
    "IMAGE_EXTENSIONS",
    "MANIFEST_NAME",
    "OUTPUT_FORMATS",
    "BatchOptions",
    "BatchRunner",
    "BatchSummary",
    "ManifestIndex",
    "PlannedFile",
    "check_options",
    "files_in_flight",
    "iter_records",
    "plan",
    "read_manifest",
    "run_batch",
]
