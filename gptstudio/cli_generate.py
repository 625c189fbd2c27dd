"""``gptstudio generate``: a picture from a prompt, or a variation (``--init IMAGE --strength S``).

Also the shared rule for prompted inpainting (``gptstudio inpaint ... --prompt``): a prompt needs a
model that reads one, so with none installed the command names the catalog models to pull and
exits non-zero instead of quietly filling the hole with a method that ignores the prompt.
Before a run, the memory the model will need at that size is printed, so a user learns it before
waiting for a load that cannot fit.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from gptstudio import cli_args
from gptstudio.core.errors import ImageWriteError, InvalidRequestError, ModelError

GUIDANCE = cli_args.float_option("guidance", 0.0, 30.0)
STRENGTH = cli_args.float_option("strength", 0.0, 1.0)
_SIZE = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``512x768`` -> (512, 768); argparse shows the message of the ValueError."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, like 512x512, not {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise argparse.ArgumentTypeError(f"each side must be between 16 and 4096 pixels, not {text}")
    return width, height


def register(sub: Any) -> None:
    """Add ``generate`` to the main parser's subparsers."""
    g = sub.add_parser(
        "generate",
        help="make a picture from a prompt, or a variation of an image (--init)",
        description=(
            "Make a picture from a prompt with an installed generation model (aMUSEd, FLUX.2 klein, "
            "Stable Diffusion 3.5, Z-Image, PixArt-Σ). With --init IMAGE it makes a variation of that "
            "image: --strength 0 keeps it, 1 ignores it. Every setting is stored in the PNG "
            "(`gptstudio info`)."
        ),
    )
    g.add_argument("--prompt", required=True, help="what the picture should show")
    g.add_argument("--negative", default="", help="what to avoid (models that take a negative prompt)")
    g.add_argument("--size", type=parse_size, default=None, help="WIDTHxHEIGHT (default: the model's native)")
    g.add_argument("--steps", type=cli_args.STEPS, help="sampling steps (default: the model's own)")
    g.add_argument("--guidance", type=GUIDANCE, help="prompt guidance scale (default: the model's own)")
    g.add_argument("--seed", type=cli_args.SEED, help="seed for a repeatable picture (default: random)")
    g.add_argument("--init", type=Path, help="an image to make a variation of")
    g.add_argument("--lora", default=None, help="a LoRA from `gptstudio train --task generate` (id or file)")
    g.add_argument(
        "--lora-strength",
        type=cli_args.float_option("lora-strength", 0.0, 2.0),
        default=1.0,
        help="how strongly the LoRA applies (default 1)",
    )
    g.add_argument(
        "--strength", type=STRENGTH, default=0.6, help="with --init: how much to change (default 0.6)"
    )
    g.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="where to write the picture (.png keeps the settings)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it already exists")
    g.add_argument("--model", help="model id (see `gptstudio models list`); default: the best installed")
    g.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: $GPTSTUDIO_DEVICE or auto)")
    g.add_argument("--quality", type=cli_args.QUALITY, default=95, help="JPEG/WebP output quality, 1-100")
    g.add_argument("--max-megapixels", type=cli_args.MAX_MEGAPIXELS, help="refuse larger --init images")
    g.set_defaults(func=_cmd_generate)


def pull_hint(task: str) -> str:
    """Which catalog models can do ``task`` with a prompt, as commands to type."""
    from gptstudio.models.catalog import load_catalog

    ids = [e.id for e in load_catalog().for_task(task) if e.engine == "diffusers"]
    return "; ".join(f"gptstudio models pull {i}" for i in ids[:3]) + (
        " (see `gptstudio models list --available`)"
    )


def prompt_model(task: str) -> str:
    """The best installed model that reads a prompt for ``task``, or a ModelError that says what to pull."""
    from gptstudio.models import registry

    found = [info for info in registry.models_for(task) if "prompt" in info.uses]
    if not found:
        what = "makes pictures from a prompt" if task == "generate" else "fills a mask from a prompt"
        raise ModelError(f"No installed model {what}. Install one first: {pull_hint(task)}.")
    return found[0].id


def announce_memory(model_id: str, width: int, height: int, device: str | None) -> None:
    """Print what the run will need, before the model loads (stderr: stdout stays the result line)."""
    from gptstudio.core.device import choose_device
    from gptstudio.engines.diffusers.memory import describe_bytes, estimate_for
    from gptstudio.models import registry

    info = registry.info(model_id)
    if not info.parameters:
        return
    dev = choose_device(device)
    need = estimate_for(info.parameters, info.supports_bf16, width, height, dev)
    print(
        f"{info.name}: needs {describe_bytes(need)} of memory at {width}×{height} on {dev}.", file=sys.stderr
    )


def _cmd_generate(args: argparse.Namespace) -> int:
    from gptstudio.cli import EXIT_OK, _run_and_save
    from gptstudio.core.imageio import SAVE_FORMATS, load_image
    from gptstudio.models import registry
    from gptstudio.tasks import GenerateRequest
    from gptstudio.tasks.generate import check_generate

    output: Path = args.output
    if output.suffix.lower() not in SAVE_FORMATS:
        raise ImageWriteError(
            f"Unknown output format '{output.suffix}'. Use one of: {', '.join(sorted(SAVE_FORMATS))}."
        )
    if output.exists() and not args.overwrite:
        raise ImageWriteError(f"{output} already exists; choose another name or pass --overwrite.")
    model = args.model or prompt_model("generate")
    info = registry.info(model)
    if "generate" not in info.tasks:
        raise ModelError(f"The model '{model}' cannot generate pictures; it does: {', '.join(info.tasks)}.")
    image = None
    if args.init is not None:
        image = load_image(args.init, max_megapixels=args.max_megapixels)
        if args.strength >= 1.0:
            raise InvalidRequestError(
                "With --init, --strength must be below 1 (at 1 nothing of the image is kept)."
            )
    width, height = args.size or (info.native or 512, info.native or 512)
    if image is not None:
        width, height = image.size
    request = GenerateRequest(
        image=image, model=model, device=args.device, prompt=args.prompt, negative_prompt=args.negative,
        width=width, height=height, steps=args.steps, guidance=args.guidance, seed=args.seed,
        strength=args.strength if image is not None else 1.0, lora=args.lora,
        lora_strength=args.lora_strength,
    )  # fmt: skip
    check_generate(request)
    announce_memory(model, min(width, info.native or width), min(height, info.native or height), args.device)
    _run_and_save(request, output, args)
    return EXIT_OK
