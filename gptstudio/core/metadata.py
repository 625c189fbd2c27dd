"""What travels with the pixels: our task parameters and the photo's EXIF.

Parameters are stored so that a result can be repeated ("Reuse parameters", ``gptstudio info``):

- PNG: a ``tEXt`` chunk under :data:`PARAMS_KEY` holding the JSON (as before);
- JPEG, WebP and TIFF: the same JSON in the EXIF ``UserComment`` tag, which is where other image
  generators (AUTOMATIC1111) put theirs and which photo tools show and keep. The camera's own EXIF
  is kept beside it.

EXIF helpers here also make the EXIF we carry forward say "upright" (our pixels are rotated on
reading) and pick a TIFF's descriptive tags out of its layout tags.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from gptstudio import __version__
from gptstudio.core.errors import ImageReadError
from gptstudio.core.limits import header_unchecked

#: The PNG text chunk key under which we store task parameters.
PARAMS_KEY = "gptstudio"
SOFTWARE = f"gptstudio {__version__}"

EXIF_IFD, GPS_IFD, INTEROP_IFD = 0x8769, 0x8825, 0xA005
ORIENTATION, USER_COMMENT = 0x0112, 0x9286
#: JPEG keeps EXIF in one 64 KB segment; a longer block cannot be written at all.
JPEG_EXIF_LIMIT = 65_000

#: IFD0 tags of a TIFF that describe the photo (not the file's layout), worth carrying to the output.
TIFF_DESCRIPTIVE_TAGS = {
    270,  # ImageDescription
    271,  # Make
    272,  # Model
    274,  # Orientation
    282,  # XResolution
    283,  # YResolution
    296,  # ResolutionUnit
    305,  # Software
    306,  # DateTime
    315,  # Artist
    33432,  # Copyright
}
EXIF_SUB_IFDS = (EXIF_IFD, GPS_IFD)


def params_json(params: dict[str, Any]) -> str:
    """The stored form: sorted keys and ASCII only, so every container holds it unchanged."""
    return json.dumps(params, sort_keys=True, ensure_ascii=True)


def _as_params(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        params = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return params if isinstance(params, dict) else {}


def png_text(params: dict[str, Any]) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMS_KEY, params_json(params))
    info.add_text("Software", SOFTWARE)
    return info


def encode_user_comment(text: str) -> bytes:
    """EXIF UserComment: an 8-byte character-code prefix, then the text (ASCII here)."""
    return b"ASCII\x00\x00\x00" + text.encode("ascii")


def decode_user_comment(raw: object) -> str | None:
    """The text of a UserComment in any of the character codes writers use."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes) or len(raw) < 8:
        return None
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        for codec in ("utf-16-be", "utf-16-le"):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if text.lstrip().startswith("{"):
                return text
        return None
    return body.decode("utf-8", "replace").rstrip("\x00")


def params_from_exif(exif: Image.Exif) -> dict[str, Any]:
    """Our parameters from an EXIF UserComment; a foreign comment (a camera's, A1111's) is not ours."""
    try:
        text = decode_user_comment(exif.get_ifd(EXIF_IFD).get(USER_COMMENT))
    except Exception:  # unreadable metadata must never stop the picture from opening
        return {}
    params = _as_params(text)
    return params if str(params.get("program", "")).startswith("gptstudio") else {}


def params_from_image(im: Image.Image) -> dict[str, Any]:
    """The parameters stored in an open file: the PNG text chunk, else the EXIF UserComment."""
    params = _as_params(im.info.get(PARAMS_KEY))
    if params:
        return params
    try:
        exif = im.getexif()
    except Exception:
        return {}
    return params_from_exif(exif)


def read_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The task parameters this program stored in an image (empty if none)."""
    try:
        # Only the header and metadata are read, so a huge picture is no danger here.
        with header_unchecked():
            opened = Image.open(path)
        with opened as im:  # not loaded: our writers put the text chunk before the pixel data
            return params_from_image(im)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{Path(path).name} cannot be read: {exc}") from exc


def exif_from_tiff(im: Image.Image) -> bytes | None:
    """EXIF for a TIFF source: its descriptive IFD0 tags and Exif/GPS sub-directories.

    Pillow exposes a TIFF's whole first directory as "EXIF", strip offsets and all; copying those
    layout tags into another file would describe pixels that are not there.
    """
    try:
        src = im.getexif()
        out = Image.Exif()
        for tag, value in src.items():
            if tag in TIFF_DESCRIPTIVE_TAGS:
                out[tag] = value
        for tag in EXIF_SUB_IFDS:
            if tag in src:
                sub = src.get_ifd(tag)
                if sub:
                    out[tag] = {k: v for k, v in sub.items() if k != INTEROP_IFD}
        return out.tobytes() if len(out) else None
    except Exception:  # unreadable metadata must never stop the picture from opening
        return None


def orientation(exif: bytes | None) -> int:
    """The EXIF orientation (1 = upright) of a raw EXIF block."""
    if not exif:
        return 1
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        value = parsed.get(ORIENTATION, 1)
        return int(value) if isinstance(value, int) else 1
    except Exception:
        return 1


def reset_orientation(exif: bytes) -> bytes:
    """Our pixels are already upright, so the EXIF we carry forward must say so."""
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        if parsed.get(ORIENTATION, 1) != 1:
            parsed[ORIENTATION] = 1
        return parsed.tobytes()
    except Exception:  # a malformed EXIF block must never stop a save
        return exif


def exif_with_params(exif: bytes | None, params: dict[str, Any], *, limit: int | None = None) -> bytes | None:
    """``exif`` (the camera's, or none) with our parameters in its UserComment.

    Within ``limit`` bytes (JPEG's segment): a long editing history is left out first, then the
    parameters, rather than failing the save.
    """
    try:
        parsed = Image.Exif()
        if exif:
            parsed.load(exif)
    except Exception:  # malformed camera EXIF: keep our parameters at least
        parsed = Image.Exif()
    base = parsed.tobytes() if len(parsed) else exif
    attempts = [params, {k: v for k, v in params.items() if k != "history"}]
    for attempt in attempts:
        parsed.get_ifd(EXIF_IFD)[USER_COMMENT] = encode_user_comment(params_json(attempt))
        out = parsed.tobytes()
        if limit is None or len(out) <= limit:
            return out
    return base
