"""The image-size limit that guards against decompression bombs, and how it is worded.

Why our own check: a 2 KB file can claim to be 100 000 × 100 000 pixels and exhaust memory when
decoded. Pillow has a global guard (``Image.MAX_IMAGE_PIXELS``) but it is process-wide, refuses
with a message that names no option, and would stop ``--max-megapixels`` from raising the limit.
So we leave Pillow's global alone, lift it only for the instant a header is read
(:func:`header_unchecked`), and compare the size with *our* limit before any pixel memory is
allocated. Nothing here runs at import.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator

from gptstudio.core.errors import ImageTooLargeError

#: Default limit, in megapixels (Pillow's own default is ~89).
DEFAULT_MAX_MEGAPIXELS = 200.0

_lock = threading.Lock()
_max_megapixels = DEFAULT_MAX_MEGAPIXELS


def set_max_megapixels(megapixels: float | None) -> None:
    """Set the default limit for every later load; ``None`` or 0 restores ours (200)."""
    global _max_megapixels
    _max_megapixels = float(megapixels) if megapixels and megapixels > 0 else DEFAULT_MAX_MEGAPIXELS


def get_max_megapixels() -> float:
    """The current default limit in megapixels (what ``load_image`` uses when given none)."""
    return _max_megapixels


def resolve_limit(max_megapixels: float | None) -> float:
    """The limit for one call: the caller's value if positive, else the default."""
    return float(max_megapixels) if max_megapixels and max_megapixels > 0 else _max_megapixels


def describe_pixels(pixels: float) -> str:
    """'24 megapixels', '2.5 megapixels', '0.25 megapixels' or '1,200 pixels'.

    Rounding to whole megapixels would print a small limit (``--max-megapixels 0.25``) or a small
    image as "0 megapixels", which reads as a bug.
    """
    mp = pixels / 1e6
    if mp >= 10:
        return f"{mp:.0f} megapixels"
    if mp >= 0.01:
        return f"{float(f'{mp:.2g}'):g} megapixels"
    return f"{round(pixels):,} pixels"


def suggested_limit(pixels: float) -> str:
    """The smallest round ``--max-megapixels`` value that lets ``pixels`` through."""
    mp = pixels / 1e6
    if mp >= 1:
        return str(math.floor(mp) + 1)
    return f"{math.ceil(mp * 100) / 100:g}"


def too_large_message(name: str, width: int, height: int, limit_mp: float) -> str:
    pixels = width * height
    return (
        f"{name} is {width}×{height} ({describe_pixels(pixels)}), above the safety limit of "
        f"{describe_pixels(limit_mp * 1e6)} that protects against decompression bombs. If you trust "
        f"this file, raise the limit with --max-megapixels {suggested_limit(pixels)}."
    )


def check_image_size(name: str, width: int, height: int, limit_mp: float) -> None:
    """Raise :class:`ImageTooLargeError` when ``width × height`` is above ``limit_mp`` megapixels."""
    if width * height > limit_mp * 1e6:
        raise ImageTooLargeError(too_large_message(name, width, height, limit_mp))


@contextlib.contextmanager
def header_unchecked() -> Iterator[None]:
    """Lift Pillow's global bomb check while one file's header is read, then put it back.

    Pillow refuses anything above twice its global inside ``Image.open``, before we can compare
    the size with our own limit. The global is restored on exit, whatever it was (another
    program part, or the user's code, may have set it); the lock keeps two threads from
    restoring each other's value. Decoding happens outside: only the header is read in here.
    """
    from PIL import Image

    with _lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved
