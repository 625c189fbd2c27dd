"""``gptstudio adjust IN -o OUT``: brightness, contrast, colour and levels on an image or a folder.

Kept apart from ``cli.py`` (which adds it with :func:`register`) because it has its own options.
One image runs :func:`gptstudio.tasks.adjust.adjust` and is saved like every task's output (bit
depth, ICC, EXIF and the parameters kept). A folder goes through :mod:`gptstudio.batch` with the
task ``adjust``: sub-folders mirrored, a manifest that makes a rerun resume, one file per core —
so a shoot can be normalised before restoration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gptstudio import cli_args


def _float_range(name: str, low: float, high: float) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not '{text}'") from None
        if not (low <= value <= high):
            raise argparse.ArgumentTypeError(f"{name} must be between {low:g} and {high:g}, not {text}")
        return value

    return parse


def register(sub: Any) -> None:
    """Add ``adjust`` to the main parser's subparsers."""
    from gptstudio.batch.options import OUTPUT_FORMATS

    a = sub.add_parser(
        "adjust",
        help="brightness, contrast, saturation, colour balance, levels, white balance (an image or a folder)",
        description=(
            "Adjust an image, or every image of a folder (results mirror its sub-folders; a manifest "
            "lets a stopped run resume). Values are fractions of the full range unless said otherwise; "
            "the order is white balance, levels, brightness, contrast, colour balance, saturation."
        ),
    )
    a.add_argument("input", type=Path, help="an image, or a folder of images (never written)")
    a.add_argument("-o", "--output", type=Path, help="the output image, or folder for a folder")
    a.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    a.add_argument(
        "--brightness", type=_float_range("brightness", -1, 1), default=0.0, help="-1..1, added (default 0)"
    )
    a.add_argument(
        "--contrast",
        type=_float_range("contrast", 0, 4),
        default=1.0,
        help="factor around mid-grey: 1 = unchanged, 0 = flat (default 1)",
    )
    a.add_argument(
        "--saturation", type=_float_range("saturation", 0, 4), default=1.0, help="0 = grey, 1 = unchanged"
    )
    a.add_argument(
        "--levels",
        nargs=2,
        type=_float_range("a levels point", 0, 255),
        metavar=("BLACK", "WHITE"),
        help="input black and white points in 8-bit levels: --levels 16 235 maps 16 to 0 and 235 to 255",
    )
    a.add_argument(
        "--gamma", type=_float_range("gamma", 0.1, 10), default=1.0, help="levels gamma (>1 lighter)"
    )
    a.add_argument(
        "--auto-levels",
        action="store_true",
        help="stretch each image's luminance to the full range (0.1 %% clipped each side); replaces --levels",
    )
    wb = a.add_mutually_exclusive_group()
    wb.add_argument(
        "--grey-point",
        nargs=2,
        type=int,
        metavar=("X", "Y"),
        help="white balance: make the pixels around (X, Y) neutral grey (a grey card)",
    )
    wb.add_argument(
        "--wb-gains", nargs=3, type=float, metavar=("R", "G", "B"), help="white balance: channel gains"
    )
    for name in ("shadows", "midtones", "highlights"):
        a.add_argument(
            f"--{name}",
            nargs=3,
            type=_float_range(f"{name} balance", -1, 1),
            metavar=("CR", "MG", "YB"),
            help=f"colour balance of the {name}: cyan-red, magenta-green, yellow-blue, each -1..1",
        )
    a.add_argument("--mask", type=Path, help="one image: change only the white area of this mask")
    a.add_argument("--feather", type=cli_args.FEATHER, default=4.0, help="soften the mask edge by N pixels")
    a.add_argument("--quality", type=cli_args.QUALITY, default=95, help="JPEG/WebP quality, 1-100")
    a.add_argument(
        "--max-megapixels", type=cli_args.MAX_MEGAPIXELS, help="refuse larger images (default 200)"
    )
    folder = a.add_argument_group("folders")
    folder.add_argument(
        "--recursive", action=argparse.BooleanOptionalAction, default=True, help="include sub-folders"
    )
    folder.add_argument("--include", action="append", default=[], metavar="PAT", help="only matching paths")
    folder.add_argument("--exclude", action="append", default=[], metavar="PAT", help="skip matching paths")
    folder.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="same", help="output format (default same)"
    )
    folder.add_argument("--suffix", default="", help="added to each output name")
    folder.add_argument("--workers", type=int, help="files at once (default: one per core)")
    a.set_defaults(func=_cmd_adjust)


def adjustments_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~gptstudio.core.adjust.Adjustments` the options describe (checked there)."""
    from gptstudio.core.adjust import Adjustments

    kwargs: dict[str, Any] = {
        "brightness": args.brightness,
        "contrast": args.contrast,
        "saturation": args.saturation,
        "gamma": args.gamma,
    }
    if args.levels is not None:
        kwargs["black"], kwargs["white"] = args.levels[0] / 255.0, args.levels[1] / 255.0
    if args.wb_gains is not None:
        kwargs["wb_gains"] = tuple(args.wb_gains)
    for name in ("shadows", "midtones", "highlights"):
        if getattr(args, name) is not None:
            kwargs[name] = tuple(getattr(args, name))
    return Adjustments(**kwargs)


def _cmd_adjust(args: argparse.Namespace) -> int:
    from gptstudio.core.errors import InvalidRequestError
    from gptstudio.tasks.adjust import settings

    pairs = settings(
        adjustments_from_args(args),
        args.auto_levels,
        None if args.grey_point is None else tuple(args.grey_point),
    )
    if args.input.is_dir():
        if args.output is None:
            raise InvalidRequestError("Adjusting a folder needs an output folder: -o OUTPUT_DIR.")
        if args.mask is not None:
            raise InvalidRequestError("--mask is for one image; a folder is adjusted whole.")
        return _adjust_folder(args, pairs)
    return _adjust_image(args, pairs)


def _adjust_image(args: argparse.Namespace, pairs: tuple[tuple[str, object], ...]) -> int:
    from gptstudio.cli import EXIT_OK, _prepare
    from gptstudio.core.imageio import save_image
    from gptstudio.core.masks import load_mask
    from gptstudio.tasks.adjust import adjust, request_from_settings

    image, output = _prepare(args, "adjust")
    mask = None if args.mask is None else load_mask(args.mask, image.size, max_megapixels=args.max_megapixels)
    request = request_from_settings(image, pairs, mask=mask, feather=args.feather)
    result = adjust(request)
    save_image(result.image, output, params=result.params, quality=args.quality, overwrite=args.overwrite)
    print(f"{output}  (adjusted, {result.seconds:.1f} s)")
    return EXIT_OK


def _adjust_folder(args: argparse.Namespace, pairs: tuple[tuple[str, object], ...]) -> int:
    from gptstudio.batch import BatchOptions, BatchRunner
    from gptstudio.cli_batch import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, _Bar, _ctrl_c_stops

    options = BatchOptions(
        task="adjust",
        input_dir=args.input,
        output_dir=args.output,
        recursive=args.recursive,
        include=tuple(args.include),
        exclude=tuple(args.exclude),
        format=args.format,
        quality=args.quality,
        suffix=args.suffix,
        overwrite=args.overwrite,
        max_megapixels=args.max_megapixels,
        workers=args.workers,
        extra=pairs,
    )
    with _Bar("adjust") as bar:
        runner = BatchRunner(options, bar.state, on_record=bar.on_record)
        with _ctrl_c_stops(runner, bar):
            summary = runner.run()
    print(summary.line())
    for rel, reason in summary.failures:
        print(f"failed: {rel}: {reason}", file=sys.stderr)
    if summary.cancelled:
        return EXIT_CANCELLED
    return EXIT_FAILED if summary.failed else EXIT_OK
