"""Keep the Hugging Face libraries off the network: models load only from the local store.

Why at import time, and why environment variables: ``huggingface_hub`` reads ``HF_HUB_OFFLINE``
once, when it is first imported, and diffusers copies that value into its own constants when *it*
is imported. So :func:`go_offline` runs when this package is imported — before any of them is —
and, for a process where something imported them earlier, also sets the flags they already read.
Every load passes ``local_files_only=True`` as well; the two together mean nothing contacts a hub
at import, start-up or run time (``tests/engines/test_diffusers_offline.py`` runs with sockets
blocked to prove it). ``setdefault`` leaves a value the user set on purpose alone.
"""

from __future__ import annotations

import os
import sys

_FLAGS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}


def go_offline() -> None:
    """Set the offline flags for this process (and in already-imported Hub modules)."""
    for key, value in _FLAGS.items():
        os.environ.setdefault(key, value)
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        return  # the user asked for online mode explicitly; local_files_only still holds
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    for name in ("diffusers.utils.constants", "diffusers.utils"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "HF_HUB_OFFLINE"):
            module.HF_HUB_OFFLINE = True
