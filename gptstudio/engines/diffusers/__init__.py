"""Prompt-based generation through diffusers: one adapter for every pipeline family.

Importing this package switches the Hugging Face libraries to offline mode first (see
:mod:`~gptstudio.engines.diffusers.offline`), before anything here imports them. diffusers,
transformers and torch themselves are imported only when a model is detected or loaded, so the
registry and the CLI's ``--help`` stay fast.
"""

from __future__ import annotations

from gptstudio.engines.diffusers.offline import go_offline

go_offline()

from gptstudio.engines.diffusers import families  # noqa: E402
from gptstudio.engines.diffusers.engine import DiffusersEngine, engine_info, load_engine  # noqa: E402
from gptstudio.engines.diffusers.folder import MODEL_INDEX, Detected, detect, model_files  # noqa: E402

__all__ = [
    "MODEL_INDEX",
    "Detected",
    "DiffusersEngine",
    "detect",
    "engine_info",
    "families",
    "go_offline",
    "load_engine",
    "model_files",
]
