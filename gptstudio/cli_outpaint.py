"""``gptstudio outpaint IN --left N --right N --top N --bottom N -o OUT``: extend the canvas and fill it.

Kept apart from ``cli.py`` (which adds it with :func:`register`). The inpaint task does the work:
the request carries the border sizes (``extend``), so the saved parameters repeat the outpaint.
"""

from __future__ import annotations

import argparse
from typing import Any

from gptstudio import cli_args
from gptstudio.tasks.outpaint import MAX_EXTEND

SIDE = cli_args.int_option("border", 0, MAX_EXTEND)


def register(sub: Any) -> None:
    """Add ``outpaint`` to the main parser's subparsers."""
    from gptstudio.cli import _add_io_arguments

    o = sub.add_parser(
        "outpaint",
        help="extend the canvas on any side and fill the new border (our inpainting model by default)",
        description="Extend the canvas and fill the new border from the picture. Example: "
        "gptstudio outpaint photo.jpg --left 256 --right 256 -o wider.png",
    )
    _add_io_arguments(o, "outpaint")
    for side in ("left", "top", "right", "bottom"):
        o.add_argument(f"--{side}", type=SIDE, default=0, help=f"pixels to add on the {side} (default 0)")
    o.add_argument("--seed", type=cli_args.SEED, help="seed for repeatable results (default: random)")
    o.add_argument(
        "--feather", type=cli_args.FEATHER, default=8.0, help="soften the seam by N pixels (default 8)"
    )
    o.set_defaults(func=_cmd_outpaint)


def _cmd_outpaint(args: argparse.Namespace) -> int:
    from gptstudio.cli import _common, _prepare, _run_and_save
    from gptstudio.core.errors import InvalidRequestError
    from gptstudio.tasks import InpaintRequest

    extend = (args.left, args.top, args.right, args.bottom)
    if not any(extend):
        raise InvalidRequestError("Say how far to extend: --left, --top, --right and/or --bottom in pixels.")
    image, output = _prepare(args, "outpaint")
    # The seam is feathered into the original only: grow 0 keeps the photo's own pixels untouched
    # except within the feather of the new border.
    request = InpaintRequest(
        image=image, extend=extend, seed=args.seed, feather=args.feather, grow=0, **_common(args)
    )
    return _run_and_save(request, output, args)
