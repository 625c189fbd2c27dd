"""Range-checked number types for command-line options: a wrong value is refused before any work.

Why as argparse ``type=`` functions: argparse then prints the option, our one-sentence reason and
the usage line, and exits with status 2, before an image is read or a model is loaded. Without
them ``--quality 150`` or ``--tile -5`` were accepted and failed later, or never.

Every command that takes numbers (``gptstudio denoise|restore|upscale|inpaint``, ``train``,
``batch``) builds its options from these, so the wording is the same everywhere.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def int_option(name: str, low: int, high: int | None = None, *, meaning: str = "") -> Callable[[str], int]:
    """An integer from ``low`` to ``high`` (no upper end if None); ``meaning`` explains ``low``.

    ``int_option("tile", 0, meaning="0 = the whole image")`` refuses ``--tile -5`` with "tile must
    be 0 or more (0 = the whole image), not -5".
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, not '{text}'") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{_range_text(name, low, high, meaning)}, not {value}")
        return value

    parse.__name__ = name
    return parse


def float_option(
    name: str,
    low: float,
    high: float | None = None,
    *,
    above: bool = False,
    meaning: str = "",
) -> Callable[[str], float]:
    """A finite number from ``low`` (or strictly ``above`` it) to ``high`` (None: no upper end)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not '{text}'") from None
        too_low = value <= low if above else value < low
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"{_range_text(name, low, high, meaning, above=above)}, not {text.strip()}"
            )
        return value

    parse.__name__ = name
    return parse


def _range_text(name: str, low: float, high: float | None, meaning: str, *, above: bool = False) -> str:
    note = f" ({meaning})" if meaning else ""
    if above and high is not None:
        return f"{name} must be above {_fmt(low)} and at most {_fmt(high)}{note}"
    if above:
        return f"{name} must be above {_fmt(low)}{note}"
    if high is not None:
        return f"{name} must be between {_fmt(low)} and {_fmt(high)}{note}"
    return f"{name} must be {_fmt(low)} or more{note}"


#: The options the task commands share, with the limits the tasks themselves enforce.
QUALITY = int_option("quality", 1, 100)
TILE = int_option("tile", 0, meaning="0 = the whole image")
STRENGTH = float_option("strength", 0.0, 1.0)
SCALE = float_option("scale", 1.0, 16.0, above=True)
MAX_MEGAPIXELS = float_option("max-megapixels", 0.0, above=True)
STEPS = int_option("steps", 1, 1000)
SEED = int_option("seed", 0, 2**31 - 1)
FEATHER = float_option("feather", 0.0, 256.0)
_NOISE = float_option("noise-level", 0.0, 100.0, meaning="σ in 8-bit levels")


def noise_level(text: str) -> float | None:
    """``--noise-level``: ``auto`` (the model's own estimate, None) or σ from 0 to 100."""
    return None if text.strip().lower() == "auto" else _NOISE(text)

GROW = int_option("grow", 0, 256)
