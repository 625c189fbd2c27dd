"""The weights that ship inside the package (GRT restoration, GIT inpainting), registered as defaults.

``gptstudio.models.registry`` imports this lazily and calls :func:`entries`; nothing is loaded until
a job asks for the model, so starting the program stays fast. If the weight file is missing (a
broken install), no entry is offered and the classical method remains the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gptstudio.core.tiling import SizeRequirements
from gptstudio.engines.base import EngineInfo, InpaintEngine, RestorationEngine

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = WEIGHTS_DIR / "grt-restoration-v3.safetensors"
MODEL_CARD = WEIGHTS_DIR / "grt-restoration-v3.md"

#: Priority in the registry: above the classical methods (0), so it is the default.
PRIORITY = 10

INPAINT_WEIGHTS_FILE = WEIGHTS_DIR / "git-inpaint-v2.safetensors"
INPAINT_MODEL_CARD = WEIGHTS_DIR / "git-inpaint-v2.md"
#: The working size: a window around the mask is scaled to about this many pixels squared.
INPAINT_NATIVE = 512

INFO = EngineInfo(
    id="grt-restoration",
    name="GRT restoration Transformer (built in)",
    tasks=("denoise", "restore"),
    architecture="native-grt",
    description=(
        "Our blind restoration Transformer, trained on CBSD432: removes Gaussian and camera noise "
        "(σ up to 50), JPEG artefacts (quality 10-90) and mild blur. Takes a noise level (automatic by "
        "default; raise it for heavy grain). Works offline; see the model card."
    ),
    size=SizeRequirements(minimum=16, multiple_of=8),
    supports_half=True,
    supports_bf16=True,
    tile=1024,
    overlap=128,
    uses=frozenset({"strength", "mode", "noise_level"}),
    licence="MIT (weights trained by the GPT Studio project on CBSD432)",
)


INPAINT_INFO = EngineInfo(
    id="git-inpaint",
    name="GIT inpainting Transformer (built in)",
    tasks=("inpaint",),
    architecture="native-git",
    description=(
        "Our inpainting Transformer, trained on CBSD432 against a discriminator: removes objects, "
        "strokes and text and extends the canvas from the rest of the picture (global attention). "
        "Ignores prompts; the seed varies the fill. Works offline; see the model card."
    ),
    size=SizeRequirements(minimum=32, multiple_of=16),
    supports_half=True,
    supports_bf16=True,
    tile=0,
    overlap=0,
    uses=frozenset({"seed"}),
    native=INPAINT_NATIVE,
    licence="MIT (weights trained by the GPT Studio project on CBSD432)",
)


@dataclass(frozen=True)
class ShippedEntry:
    """What the registry needs: the descriptor, how to build the engine, and its rank."""

    info: EngineInfo
    factory: Callable[[str], RestorationEngine | InpaintEngine]
    priority: int = PRIORITY


def load_engine(
    device: str = "cpu", path: Path = WEIGHTS_FILE, bf16: bool | None = None
) -> RestorationEngine:
    """Load the shipped weights (safetensors) into a :class:`GRTEngine` on ``device``; ``bf16``
    None = bf16 on CPUs with bf16 units unless ``GPTSTUDIO_CPU_BF16=0``."""
    from gptstudio.engines.native.engine import GRTEngine, size_requirements
    from gptstudio.engines.native.io import load

    model, _meta = load(path)
    if size_requirements(model) != INFO.size:
        raise AssertionError("The shipped weights' size requirements differ from INFO.size")
    return GRTEngine(model, INFO, device, bf16=bf16)


def load_inpaint_engine(
    device: str = "cpu", path: Path | None = None, bf16: bool | None = None
) -> InpaintEngine:
    """Load the shipped GIT weights (or ``path``) into a :class:`GITEngine` on ``device``."""
    from gptstudio.engines.native.inpaint_engine import GITEngine, size_requirements
    from gptstudio.engines.native.inpaint_io import load

    model, _meta = load(path or INPAINT_WEIGHTS_FILE)
    if size_requirements(model) != INPAINT_INFO.size:
        raise AssertionError("The shipped inpainting weights' size requirements differ from INPAINT_INFO")
    return GITEngine(model, INPAINT_INFO, device, bf16=bf16)


def entries() -> list[ShippedEntry]:
    """The shipped models present in this installation (none for a missing weight file)."""
    found = []
    if WEIGHTS_FILE.is_file():
        found.append(ShippedEntry(INFO, load_engine, PRIORITY))
    if INPAINT_WEIGHTS_FILE.is_file():
        found.append(ShippedEntry(INPAINT_INFO, load_inpaint_engine, PRIORITY))
    return found
