"""The task vocabulary: task names, restore modes and the words the user sees for them.

Why here, in ``core``: every layer needs these names — the catalog and registry validate tasks,
the CLI offers ``--mode``, the editor's panel and Models dialog label them, the GRT network turns
a mode into an embedding row, training draws mode indices — and ``core`` is the one package all
of them may import. It is plain data: importing it loads nothing (no engines, no numpy, no Qt).

The order of :data:`RESTORE_MODES` is part of the shipped weights: the GRT network learnt one
bias per mode, indexed by position in this tuple (``engines/native/arch.MODES`` is this tuple).
Never reorder it; append a new mode at the end (and retrain).
"""

from __future__ import annotations

#: Task names, as used by the CLI, the editor, the catalog and stored parameters.
TASKS = ("denoise", "restore", "upscale", "inpaint", "generate", "segment")
#: What the editor and the Models dialog call each task.
TASK_LABELS = {
    "inpaint": "Inpaint",
    "restore": "Restore",
    "denoise": "Denoise",
    "upscale": "Upscale",
    "generate": "Generate",
    # not a task of the panel: what Segment Anything models do for the Select Object tool
    "segment": "Select object",
}
#: Restoration modes, what kind of damage to remove. The order is the network's mode index.
RESTORE_MODES = ("all", "jpeg", "deblur", "denoise")
#: What the editor calls each restore mode.
MODE_LABELS = {"all": "Everything", "jpeg": "JPEG artefacts", "deblur": "Blur", "denoise": "Noise"}
