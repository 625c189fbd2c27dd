"""Image files in and out: one import for the whole API, which lives in modules with one job each.

- :mod:`gptstudio.core.imagedata` — :class:`ImageData`, the float RGB + alpha every task sees;
- :mod:`gptstudio.core.reading` — decoding any file (16-bit, orientation, ICC, grey);
- :mod:`gptstudio.core.writing` — encoding and atomic saving (bit depth, grey, alpha, ICC, EXIF);
- :mod:`gptstudio.core.metadata` — our task parameters in and out, EXIF helpers;
- :mod:`gptstudio.core.limits` — the image-size limit (decompression-bomb guard).

Callers keep importing from here; nothing here (or there) has side effects at import: Pillow's
global pixel limit is left alone.
"""

from __future__ import annotations

from gptstudio.core.imagedata import ImageData, from_array, to_uint8, to_uint16
from gptstudio.core.limits import DEFAULT_MAX_MEGAPIXELS, get_max_megapixels, set_max_megapixels
from gptstudio.core.metadata import PARAMS_KEY, read_params
from gptstudio.core.reading import load_image
from gptstudio.core.writing import SAVE_FORMATS, SIXTEEN_BIT_FORMATS, encode_image, save_image

__all__ = [
    "DEFAULT_MAX_MEGAPIXELS",
    "PARAMS_KEY",
    "SAVE_FORMATS",
    "SIXTEEN_BIT_FORMATS",
    "ImageData",
    "encode_image",
    "from_array",
    "get_max_megapixels",
    "load_image",
    "read_params",
    "save_image",
    "set_max_megapixels",
    "to_uint8",
    "to_uint16",
]
