"""Fine-tuning presets (quick / balanced / best) and the few settings that matter per task.

Nothing here imports torch: the Train dialog and ``gptstudio train --help`` read these tables to
show the choices, and the numbers are the whole difference between the presets, so they live in
one place. Steps, crop, batch and learning rate are what decide time, memory and quality; the
other settings of a recipe keep the values the shipped recipes use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gptstudio.core.errors import InvalidRequestError

#: The tasks ``gptstudio train --task`` accepts.
FINETUNE_TASKS = ("denoise", "restore", "inpaint", "generate")
PRESET_NAMES = ("quick", "balanced", "best")


@dataclass(frozen=True)
class Preset:
    steps: int
    crop: int
    batch: int
    lr: float
    warmup: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


#: Fine-tuning starts from trained weights: lower learning rates than training from scratch
#: (the shipped recipes use 1e-3 and 5e-4), a short warm-up, and patches as large as the
#: shipped recipes' last phase so attention statistics match inference.
PRESETS: dict[str, dict[str, Preset]] = {
    "restoration": {
        "quick": Preset(steps=200, crop=64, batch=8, lr=2e-4, warmup=20),
        "balanced": Preset(steps=1000, crop=96, batch=8, lr=2e-4, warmup=50),
        "best": Preset(steps=4000, crop=96, batch=16, lr=1e-4, warmup=100),
    },
    "inpaint": {
        "quick": Preset(steps=200, crop=128, batch=4, lr=1e-4, warmup=20),
        "balanced": Preset(steps=1000, crop=256, batch=4, lr=1e-4, warmup=50),
        "best": Preset(steps=4000, crop=256, batch=8, lr=5e-5, warmup=100),
    },
    # LoRA: higher learning rates (only the small adapters learn), the model's own resolution
    # comes from the pipeline, so "crop" is the training resolution.
    "generate": {
        "quick": Preset(steps=200, crop=256, batch=1, lr=1e-4, warmup=10),
        "balanced": Preset(steps=800, crop=512, batch=1, lr=1e-4, warmup=20),
        "best": Preset(steps=2000, crop=512, batch=2, lr=5e-5, warmup=50),
    },
}


def family(task: str) -> str:
    """Which preset table a task uses: denoise and restore share the restoration recipe."""
    if task not in FINETUNE_TASKS:
        raise InvalidRequestError(f"Unknown training task '{task}'. Use one of: {', '.join(FINETUNE_TASKS)}.")
    return "restoration" if task in ("denoise", "restore") else task


def preset(task: str, name: str) -> Preset:
    if name not in PRESET_NAMES:
        raise InvalidRequestError(f"Unknown preset '{name}'. Use one of: {', '.join(PRESET_NAMES)}.")
    return PRESETS[family(task)][name]


@dataclass(frozen=True)
class DamagePreset:
    """Synthetic damage for self-supervised restoration fine-tunes (weights as in DegradationMix)."""

    gaussian: float
    camera: float
    jpeg: float
    blur: float
    downscale: float = 0.0
    sigma_max: float = 50.0
    jpeg_quality: tuple[int, int] = (10, 90)
    description: str = ""


#: ``--damage`` choices. "mixed" is the shipped recipe's mix; the others aim at one kind of damage
#: a user's photos have (their camera's noise, their archive's JPEG, soft scans).
DAMAGE_PRESETS: dict[str, DamagePreset] = {
    "mixed": DamagePreset(0.6, 0.15, 0.15, 0.10, description="noise, camera noise, JPEG and blur"),
    "gaussian": DamagePreset(1.0, 0.0, 0.0, 0.0, description="Gaussian noise σ 0-55"),
    "camera": DamagePreset(0.2, 0.8, 0.0, 0.0, description="signal-dependent camera noise with chroma"),
    "jpeg": DamagePreset(0.0, 0.0, 1.0, 0.0, jpeg_quality=(5, 50), description="heavy JPEG (quality 5-50)"),
    "blur": DamagePreset(0.0, 0.0, 0.0, 1.0, description="mild blur (soft lenses and scans)"),
    "downscale": DamagePreset(0.0, 0.0, 0.0, 0.0, 1.0, description="softness of upscaled photos (×0.5-0.8)"),
}

#: The model each task fine-tunes when ``--base`` is not given (None: the task's default model).
DEFAULT_BASE = {"denoise": "grt-restoration", "restore": "grt-restoration", "inpaint": "git-inpaint"}
#: The task's own parameters the dialog shows (others are hidden): name -> help.
TASK_SETTINGS = {
    "denoise": {"damage": "synthetic damage preset, or --damaged DIR for real pairs"},
    "restore": {"damage": "synthetic damage preset, or --damaged DIR for real pairs"},
    "inpaint": {},
    "generate": {"trigger": "a word that stands for the subject when photos have no captions"},
}
