"""The ``gptstudio`` command: every task the window does, from a terminal or a script.

Failures a user can cause print one clear line and exit non-zero; ``--debug`` shows the
traceback. Long work shows a progress bar on stderr. Heavy imports (torch, Qt) happen only in
the command that needs them, so ``gptstudio --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from gptstudio import __version__, cli_args
from gptstudio.core.errors import GptStudioError, ImageWriteError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong option is one line naming the option and why, not the whole usage.

    Subcommand parsers inherit the class, so ``gptstudio upscale --scale 40`` answers
    "gptstudio upscale: argument --scale: scale must be above 1 and at most 16, not 40".
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see: {self.prog} --help)\n")


def _add_io_arguments(p: argparse.ArgumentParser, task: str) -> None:
    p.add_argument("input", type=Path, help="the image to process")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help=f"where to write the result (default: INPUT-{task}.png beside the input; never overwrites)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it already exists")
    p.add_argument("--model", help="model id (see `gptstudio models`); default: the best installed")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: $GPTSTUDIO_DEVICE or auto)")
    p.add_argument(
        "--tile", type=cli_args.TILE, help="tile size in pixels (0 = whole image; default: the model's)"
    )
    p.add_argument(
        "--quality", type=cli_args.QUALITY, default=95, help="JPEG/WebP output quality, 1-100 (default 95)"
    )
    p.add_argument(
        "--max-megapixels",
        type=cli_args.MAX_MEGAPIXELS,
        help="refuse images larger than this (decompression-bomb guard; default 200)",
    )


def build_parser(restore_available: bool | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``restore`` appears only when an engine can restore."""
    parser = _Parser(
        prog="gptstudio",
        description="GPT Studio: denoise, restore and inpaint images with Transformers.",
    )
    parser.add_argument("--version", action="version", version=f"gptstudio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser("gui", help="open the editor window")
    g.add_argument("image", nargs="?", type=Path, help="an image to open")
    g.add_argument("--mask", type=Path, help="a mask to load with the image (white = change)")
    g.set_defaults(func=_cmd_gui)

    d = sub.add_parser("denoise", help="remove noise from an image")
    _add_io_arguments(d, "denoise")
    d.add_argument(
        "--strength",
        type=cli_args.STRENGTH,
        default=1.0,
        help="0 keeps the input, 1 removes the most (default 1)",
    )
    _add_noise_level(d)
    _add_filter_mask(d)
    d.set_defaults(func=_cmd_denoise)

    if restore_available is None:
        restore_available = _task_available("restore")
    if restore_available:
        from gptstudio.core.vocabulary import RESTORE_MODES

        r = sub.add_parser("restore", help="remove JPEG artefacts, blur and noise")
        _add_io_arguments(r, "restore")
        r.add_argument("--mode", choices=RESTORE_MODES, default="all", help="what to repair (default all)")
        r.add_argument(
            "--strength", type=cli_args.STRENGTH, default=1.0, help="0 keeps the input, 1 full effect"
        )
        _add_noise_level(r)
        _add_filter_mask(r)
        r.set_defaults(func=_cmd_restore)

    i = sub.add_parser("inpaint", help="fill the masked area of an image")
    _add_io_arguments(i, "inpaint")
    src = i.add_mutually_exclusive_group(required=True)
    src.add_argument("--mask", type=Path, help="mask image, white = fill (any mode, same size)")
    src.add_argument(
        "--mask-from-alpha",
        action="store_true",
        help="fill the transparent pixels of the input; the filled area becomes opaque",
    )
    i.add_argument("--prompt", default="", help="what to put in the masked area (prompted models)")
    i.add_argument("--negative-prompt", default="", help="what to avoid (prompted models)")
    i.add_argument("--seed", type=cli_args.SEED, help="seed for repeatable results (default: random)")
    i.add_argument("--steps", type=cli_args.STEPS, default=12, help="sampling steps (generative models)")
    i.add_argument(
        "--guidance",
        type=cli_args.float_option("guidance", 0.0, 30.0),
        default=4.0,
        help="prompt guidance scale (prompted models; default 4)",
    )
    i.add_argument(
        "--strength",
        type=cli_args.STRENGTH,
        default=1.0,
        help="how much of the masked area to repaint (prompted models; default 1)",
    )
    i.add_argument("--feather", type=cli_args.FEATHER, default=4.0, help="soften the mask edge by N pixels")
    i.add_argument("--grow", type=cli_args.GROW, default=2, help="grow the mask by N pixels before filling")
    i.set_defaults(func=_cmd_inpaint)

    u = sub.add_parser("upscale", help="enlarge an image by any factor (model, then exact Lanczos resize)")
    _add_io_arguments(u, "upscale")
    u.add_argument(
        "--scale",
        type=cli_args.SCALE,
        default=4.0,
        help="enlargement factor, above 1 and at most 16 (default 4)",
    )
    _add_filter_mask(u)
    u.set_defaults(func=_cmd_upscale)

    n = sub.add_parser("info", help="print the parameters stored in an image this program wrote")
    n.add_argument("file", type=Path)
    n.add_argument("--json", action="store_true", help="print them as one JSON object")
    n.set_defaults(func=_cmd_info)

    from gptstudio import cli_adjust, cli_batch, cli_models, cli_outpaint

    cli_outpaint.register(sub)
    cli_models.register(sub)
    cli_batch.register(sub)
    cli_adjust.register(sub)

    from gptstudio import cli_generate

    cli_generate.register(sub)
    _register_optional(sub)
    return parser


def _task_available(task: str) -> bool:
    from gptstudio.models import registry

    return bool(registry.models_for(task))


def _register_optional(sub: Any) -> None:
    """Commands that live with their feature (training) add themselves when present."""
    try:
        from gptstudio.training import cli as training_cli
    except ImportError:
        return
    register = getattr(training_cli, "register", None)
    if register is not None:
        register(sub)


# --- commands -----------------------------------------------------------------------------------


def _cmd_gui(args: argparse.Namespace) -> int:
    from gptstudio.app import launch

    argv: list[str] = []
    if args.image is not None:
        argv.append(str(args.image))
    if args.mask is not None:
        argv += ["--mask", str(args.mask)]
    return launch(argv)


def _default_output(path: Path, task: str) -> Path:
    return path.with_name(f"{path.stem}-{task}.png")


def _prepare(args: argparse.Namespace, task: str) -> tuple[Any, Path]:
    from gptstudio.core.imageio import SAVE_FORMATS, load_image

    output = args.output or _default_output(args.input, task)
    if output.suffix.lower() not in SAVE_FORMATS:
        known = ", ".join(sorted(SAVE_FORMATS))
        raise ImageWriteError(f"Unknown output format '{output.suffix}'. Use one of: {known}.")
    if output.exists() and not args.overwrite:
        raise ImageWriteError(f"{output} already exists; choose another name or pass --overwrite.")
    if output.resolve() == args.input.resolve() and not args.overwrite:
        raise ImageWriteError("The output would replace the original; pass --overwrite to allow that.")
    image = load_image(args.input, max_megapixels=args.max_megapixels)
    return image, output


def _run_and_save(request: Any, output: Path, args: argparse.Namespace) -> int:
    from gptstudio import tasks
    from gptstudio.cli_progress import ProgressBar
    from gptstudio.core.imageio import save_image

    with ProgressBar(request.task) as bar:
        result = tasks.run(request, bar.state)
    if result.image.alpha is not None and output.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        print(f"note: {output.suffix} has no transparency; the alpha channel was dropped.", file=sys.stderr)
    save_image(result.image, output, params=result.params, quality=args.quality, overwrite=args.overwrite)
    print(f"{output}  ({result.params.get('model')}, {result.seconds:.1f} s)")
    return EXIT_OK


def _add_filter_mask(p: argparse.ArgumentParser) -> None:
    """--mask for a filter: like a selection, it limits the task to the masked area."""
    p.add_argument("--mask", type=Path, help="change only the white area of this mask (same size)")
    p.add_argument(
        "--feather", type=cli_args.FEATHER, default=4.0, help="soften the mask edge by N pixels (default 4)"
    )


def _filter_mask(args: argparse.Namespace, image: Any) -> dict[str, Any]:
    from gptstudio.core.masks import load_mask

    if args.mask is None:
        return {}
    mask = load_mask(args.mask, image.size, max_megapixels=args.max_megapixels)
    return {"mask": mask, "feather": args.feather}


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model, "device": args.device, "tile": args.tile}


def _add_noise_level(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--noise-level",
        type=cli_args.noise_level,
        default=None,
        metavar="auto|SIGMA",
        help="how noisy the photo is, σ in 8-bit levels (models with this control: GRT v3, NLM); "
        "raise it to remove heavy grain, lower it to keep texture (default auto: estimated)",
    )


def _cmd_denoise(args: argparse.Namespace) -> int:
    from gptstudio.tasks import DenoiseRequest

    image, output = _prepare(args, "denoise")
    request = DenoiseRequest(
        image=image,
        strength=args.strength,
        noise_level=args.noise_level,
        **_filter_mask(args, image),
        **_common(args),
    )
    return _run_and_save(request, output, args)


def _cmd_restore(args: argparse.Namespace) -> int:
    from gptstudio.tasks import RestoreRequest

    image, output = _prepare(args, "restore")
    request = RestoreRequest(
        image=image,
        mode=args.mode,
        strength=args.strength,
        noise_level=args.noise_level,
        **_filter_mask(args, image),
        **_common(args),
    )
    return _run_and_save(request, output, args)


def _cmd_inpaint(args: argparse.Namespace) -> int:
    from gptstudio.core.masks import load_mask
    from gptstudio.tasks import InpaintRequest

    image, output = _prepare(args, "inpaint")
    mask = None
    if not args.mask_from_alpha:  # with it, the task takes the hole from the alpha and fills it opaque
        mask = load_mask(args.mask, image.size, max_megapixels=args.max_megapixels)
    request = InpaintRequest(
        image=image,
        mask=mask,
        mask_from_alpha=args.mask_from_alpha,
        grow=args.grow,
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        seed=args.seed,
        steps=args.steps,
        guidance=args.guidance,
        strength=args.strength,
        feather=args.feather,
        **_common(args),
    )
    if args.prompt and args.model is None:  # a prompt needs a model that reads one (never Telea)
        from gptstudio.cli_generate import prompt_model

        request = replace(request, model=prompt_model("inpaint"))
    return _run_and_save(request, output, args)


def _cmd_upscale(args: argparse.Namespace) -> int:
    from gptstudio.tasks import UpscaleRequest

    image, output = _prepare(args, "upscale")
    request = UpscaleRequest(
        image=image,
        scale=args.scale,
        max_megapixels=args.max_megapixels,
        **_filter_mask(args, image),
        **_common(args),
    )
    return _run_and_save(request, output, args)


def _cmd_info(args: argparse.Namespace) -> int:
    import json

    from gptstudio.core.imageio import read_params

    params = read_params(args.file)
    if not params:
        print(f"{args.file}: no GPT Studio parameters stored in this file.")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(params, indent=2, sort_keys=True, ensure_ascii=False))
        return EXIT_OK
    rows = _param_rows(params)
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return EXIT_OK


def _param_rows(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Two columns for people: nested values flattened to dotted keys (``history.1.model``)."""
    import json

    rows: list[tuple[str, str]] = []
    for key in sorted(params):
        value, name = params[key], f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _param_rows(value, f"{name}.")
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            rows += _param_rows({str(i + 1): v for i, v in enumerate(value)}, f"{name}.")
        elif isinstance(value, list):
            rows.append((name, ", ".join(v if isinstance(v, str) else json.dumps(v) for v in value)))
        else:
            rows.append((name, value if isinstance(value, str) else json.dumps(value)))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gptstudio`` console script; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except KeyboardInterrupt:
        print("gptstudio: cancelled; nothing was written.", file=sys.stderr)
        return EXIT_CANCELLED
    except GptStudioError as exc:
        if debug:
            traceback.print_exc()
        from gptstudio.core.errors import CancelledError

        print(f"gptstudio: {exc.message}", file=sys.stderr)
        return EXIT_CANCELLED if isinstance(exc, CancelledError) else EXIT_FAILED
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        else:
            print(
                f"gptstudio: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
                file=sys.stderr,
            )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
