"""OpenRaster (.ora) documents: the editor's own file format, readable by Krita, GIMP and MyPaint.

Why OpenRaster: a flat PNG cannot hold what a document is (the original for Compare, the mask,
the history), and a private format would lock the user in. An .ora is a zip that other painting
programs open as layers, so the same file is both our document and an interchange file.

Layout we write (OpenRaster 0.0.6):

- ``mimetype`` first, stored uncompressed, holding ``image/openraster`` (how a reader sniffs it);
- ``stack.xml``: three layers, top first — ``Mask`` (hidden, a red tint whose alpha is the mask),
  ``Image`` (the current pixels, visible), ``Original`` (hidden, the pixels as opened);
- ``data/*.png``: the layers, in the image's own bit depth (a 16-bit photo stays 16-bit), the
  mask cropped to its painted box and placed by the layer's ``x``/``y`` (an inpaint mask is
  usually a small part of a big photo);
- ``Thumbnails/thumbnail.png`` (at most 256 px) and ``mergedimage.png`` (what is visible: the image);
- ``gptstudio/document.json``: our history and parameters, and which layer is which. Other
  programs ignore it (and drop it when they re-save: the file then opens as a plain image).

Qt-free, so autosave can write it from a plain thread and the CLI or tests can read it. The image
layers are encoded in steps (:mod:`gptstudio.core.png_steps`) with a ``checkpoint`` between them,
where the autosave waits while the window is busy.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import weakref
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gptstudio.core.atomic import atomic_write
from gptstudio.core.errors import ImageReadError, ImageWriteError
from gptstudio.core.imageio import ImageData, load_image, to_uint8
from gptstudio.core.masks import nonzero_box
from gptstudio.core.png_steps import Checkpoint, encode_png, encode_tinted_alpha

MIMETYPE = b"image/openraster"
JSON_ENTRY = "gptstudio/document.json"
FORMAT_NAME = "gptstudio-document"
FORMAT_VERSION = 1
THUMBNAIL_MAX = 256
#: The mask layer's colour (premultiplied away by its alpha) so Krita/GIMP show it like our overlay.
MASK_RGB = (255, 48, 64)
#: Bounds on the small text entries, so a hostile file cannot make us inflate gigabytes of XML.
MAX_TEXT_ENTRY = 64 * 1024 * 1024

IMAGE_SRC = "data/image.png"
ORIGINAL_SRC = "data/original.png"
MASK_SRC = "data/mask.png"


@dataclass
class OraDocument:
    """What an .ora holds for us: the current image, the original, the mask and our metadata."""

    image: ImageData
    original: ImageData
    #: uint8 H×W, 255 = change; None when the file has no (non-empty) mask layer.
    mask: np.ndarray | None = None
    #: Our JSON entry (history, params, paths...); empty for an OpenRaster file from another program.
    meta: dict[str, Any] = field(default_factory=dict)


def encode_mask_png(mask: np.ndarray, checkpoint: Checkpoint = None) -> bytes:
    """The mask as an RGBA PNG: a constant tint whose alpha is the mask (white = change)."""
    return encode_tinted_alpha(np.asarray(mask, dtype=np.uint8), MASK_RGB, level=1, checkpoint=checkpoint)


def _thumbnail_png(image: ImageData) -> bytes:
    h, w = image.height, image.width
    step = max(1, int(np.ceil(max(h, w) / (THUMBNAIL_MAX * 2))))  # sample first: cheap on 24 MP
    rgb = to_uint8(image.rgb[::step, ::step])
    if image.alpha is not None:
        pil = Image.fromarray(np.dstack([rgb, to_uint8(image.alpha[::step, ::step])]), "RGBA")
    else:
        pil = Image.fromarray(rgb, "RGB")
    pil.thumbnail((THUMBNAIL_MAX, THUMBNAIL_MAX), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


#: A layer in stack.xml: name, src, visible, and its top-left corner on the canvas.
Layer = tuple[str, str, bool, tuple[int, int]]
#: ``cache`` entries: id(image) -> (image, zlib level, its PNG).
PngCache = dict[int, tuple["weakref.ref[ImageData]", int, bytes]]


def _stack_xml(width: int, height: int, layers: list[Layer]) -> bytes:
    root = ET.Element("image", {"version": "0.0.6", "w": str(width), "h": str(height)})
    stack = ET.SubElement(root, "stack")
    for name, src, visible, (x, y) in layers:  # first child is the top of the stack
        ET.SubElement(
            stack,
            "layer",
            {
                "name": name,
                "src": src,
                "x": str(x),
                "y": str(y),
                "opacity": "1.0",
                "visibility": "visible" if visible else "hidden",
                "composite-op": "svg:src-over",
            },
        )
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="utf-8")


def _cached_png(
    image: ImageData, level: int, cache: PngCache | None, keep: tuple[ImageData, ...], checkpoint: Checkpoint
) -> bytes:
    """``image``'s PNG, from ``cache`` when this very image was encoded before at this level.

    Why: the original never changes in a session, and the current image often has not changed
    since the last autosave (only the mask or the history did); a 24-MP layer costs seconds.
    Entries for images other than ``keep`` are dropped, so the cache holds at most two PNGs. Save
    and autosave share one cache from two threads without a lock: each step is one dict operation
    (atomic under the GIL), and at worst both encode the same image once.
    """
    hit = cache.get(id(image)) if cache is not None else None
    if hit is not None and hit[0]() is image and hit[1] == level:
        return hit[2]
    png = encode_png(image, level=level, checkpoint=checkpoint)
    if cache is not None:
        for key, (ref, _, _) in list(cache.items()):
            cached = ref()
            if cached is None or not any(cached is img for img in keep):
                cache.pop(key, None)
        # A weak reference: the cache must not keep a replaced 24-MP image alive (288 MB of
        # floats) until the next autosave; a dead entry is simply a miss.
        cache[id(image)] = (weakref.ref(image), level, png)
    return png


def encode_ora(
    image: ImageData,
    original: ImageData | None = None,
    mask: np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
    *,
    cache: PngCache | None = None,
    level: int = 6,
    checkpoint: Checkpoint = None,
) -> list[tuple[str, bytes, int]]:
    """Every zip entry as (name, bytes, compression); :func:`write_ora` puts them on disk.

    ``cache`` (see :func:`_cached_png`) lets a save skip re-encoding layers it already encoded;
    ``level`` is zlib's (autosave uses 1: a third of the time for a few percent more bytes);
    ``checkpoint()`` is called between encoding steps.
    """
    if mask is not None and mask.shape != (image.height, image.width):
        h, w = mask.shape[:2]
        raise ImageWriteError(f"The mask is {w}×{h}, the image {image.width}×{image.height}.")
    original = original if original is not None else image
    keep = (image, original)
    image_png = _cached_png(image, level, cache, keep, checkpoint)
    original_png = image_png if original is image else _cached_png(original, level, cache, keep, checkpoint)
    layers: list[Layer] = [("Image", IMAGE_SRC, True, (0, 0)), ("Original", ORIGINAL_SRC, False, (0, 0))]
    entries: list[tuple[str, bytes, int]] = []
    box = nonzero_box(mask) if mask is not None else None
    if mask is not None and box is not None:
        y0, y1, x0, x1 = box
        layers.insert(0, ("Mask", MASK_SRC, False, (x0, y0)))
        entries.append((MASK_SRC, encode_mask_png(mask[y0:y1, x0:x1], checkpoint), zipfile.ZIP_STORED))
    doc = {
        **(meta or {}),
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "layers": {
            "image": IMAGE_SRC,
            "original": ORIGINAL_SRC,
            "mask": MASK_SRC if len(layers) == 3 else None,
        },
        "bit_depth": image.bit_depth,
        "original_size": list(original.size),
    }
    head = [
        ("mimetype", MIMETYPE, zipfile.ZIP_STORED),
        ("stack.xml", _stack_xml(image.width, image.height, layers), zipfile.ZIP_DEFLATED),
        (IMAGE_SRC, image_png, zipfile.ZIP_STORED),  # PNG is compressed already
        (ORIGINAL_SRC, original_png, zipfile.ZIP_STORED),
    ]
    tail = [
        ("Thumbnails/thumbnail.png", _thumbnail_png(image), zipfile.ZIP_STORED),
        ("mergedimage.png", image_png, zipfile.ZIP_STORED),  # the mask is hidden: merged = image
        (JSON_ENTRY, json.dumps(doc, indent=1).encode("utf-8"), zipfile.ZIP_DEFLATED),
    ]
    return head + entries + tail


def write_ora(
    path: str | os.PathLike[str],
    image: ImageData,
    original: ImageData | None = None,
    mask: np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
    *,
    cache: PngCache | None = None,
    level: int = 6,
    checkpoint: Checkpoint = None,
) -> Path:
    """Write an .ora atomically: the old file stays intact until the new one is complete."""
    entries = encode_ora(image, original, mask, meta, cache=cache, level=level, checkpoint=checkpoint)

    def write(handle: Any) -> None:
        with zipfile.ZipFile(handle, "w") as zf:
            for name, data, compression in entries:
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = compression
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
                if checkpoint is not None:
                    checkpoint()

    atomic_write(path, write)
    return Path(path)


def is_ora(path: str | os.PathLike[str]) -> bool:
    """True when the file starts like an OpenRaster zip (its first entry names the mimetype)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(30 + 8 + len(MIMETYPE))
    except OSError:
        return False
    return head[:4] == b"PK\x03\x04" and head[30:38] == b"mimetype" and head[38:] == MIMETYPE


def read_ora(path: str | os.PathLike[str], *, max_megapixels: float | None = None) -> OraDocument:
    """Read an .ora; ours restores everything, another program's opens as its merged image.

    Anything wrong (not a zip, no mimetype, broken stack.xml, missing or undecodable layer) is an
    :class:`ImageReadError` naming the file and the reason, never a zipfile or XML traceback.
    """
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            return _read(zf, p.name, max_megapixels)
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(f"{p} does not exist.") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, ValueError) as exc:
        raise ImageReadError(f"{p.name} is not a readable OpenRaster file ({exc}).") from exc


def _text(zf: zipfile.ZipFile, name: str, label: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_TEXT_ENTRY:
        raise ImageReadError(f"{label}: {name} is implausibly large ({info.file_size} bytes).")
    return zf.read(info)


def _read(zf: zipfile.ZipFile, label: str, max_megapixels: float | None) -> OraDocument:
    names = set(zf.namelist())
    if "mimetype" not in names or zf.read("mimetype").strip() != MIMETYPE:
        raise ImageReadError(f"{label} is not an OpenRaster file (its mimetype entry is missing or wrong).")
    if "stack.xml" not in names:
        raise ImageReadError(f"{label} is damaged: it has no stack.xml.")
    try:
        root = ET.fromstring(_text(zf, "stack.xml", label))
    except ET.ParseError as exc:
        raise ImageReadError(f"{label} is damaged: its stack.xml does not parse ({exc}).") from exc
    if root.tag != "image" or root.find("stack") is None:
        raise ImageReadError(f"{label} is damaged: its stack.xml has no image stack.")
    meta: dict[str, Any] = {}
    if JSON_ENTRY in names:
        try:
            meta = json.loads(_text(zf, JSON_ENTRY, label))
        except ValueError as exc:
            raise ImageReadError(f"{label} is damaged: {JSON_ENTRY} is not valid JSON ({exc}).") from exc
    with tempfile.TemporaryDirectory(prefix="gptstudio-ora-") as tmp:

        def layer(src: str) -> ImageData:
            if src not in names or src.startswith("/") or ".." in Path(src).parts:
                raise ImageReadError(f"{label} is damaged: the layer {src} is missing.")
            target = Path(tmp) / f"layer-{len(os.listdir(tmp))}.png"
            with zf.open(src) as source, open(target, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            try:
                return load_image(target, max_megapixels=max_megapixels)
            except ImageReadError as exc:
                raise ImageReadError(f"{label}: the layer {src} cannot be read ({exc}).") from exc

        if meta.get("format") == FORMAT_NAME and isinstance(meta.get("layers"), dict):
            return _ours(meta, layer, label, _offsets(root, label))
        return OraDocument(*(2 * [_foreign(root, names, layer, label)]))


def _offsets(root: ET.Element, label: str) -> dict[str, tuple[int, int]]:
    """Each layer's top-left corner on the canvas, by its src (OpenRaster's x and y)."""
    out: dict[str, tuple[int, int]] = {}
    for el in root.iter("layer"):
        try:
            out[el.get("src", "")] = (int(el.get("x", "0")), int(el.get("y", "0")))
        except ValueError as exc:
            raise ImageReadError(f"{label} is damaged: a layer's position is not a number ({exc}).") from exc
    return out


def _ours(meta: dict[str, Any], layer: Any, label: str, offsets: dict[str, tuple[int, int]]) -> OraDocument:
    srcs = meta["layers"]
    image: ImageData = layer(srcs.get("image") or IMAGE_SRC)
    original = layer(srcs["original"]) if srcs.get("original") else image
    mask = None
    if srcs.get("mask"):
        m = layer(srcs["mask"])
        plane = m.alpha if m.alpha is not None else m.rgb.mean(axis=2)
        x, y = offsets.get(srcs["mask"], (0, 0))
        h, w = plane.shape
        if x < 0 or y < 0 or x + w > image.width or y + h > image.height:
            raise ImageReadError(f"{label} is damaged: the mask layer lies outside the image.")
        mask = np.zeros((image.height, image.width), np.uint8)
        mask[y : y + h, x : x + w] = to_uint8(plane)
    params = meta.get("params")
    if isinstance(params, dict):  # Reuse parameters reads them off the original
        from dataclasses import replace

        original = replace(original, params=dict(params))
    return OraDocument(image=image, original=original, mask=mask, meta=meta)


def _foreign(root: ET.Element, names: set[str], layer: Any, label: str) -> ImageData:
    """Another program's file: its merged image (the spec requires one since 0.0.5)."""
    if "mergedimage.png" in names:
        return layer("mergedimage.png")
    sources = [el.get("src", "") for el in root.iter("layer") if el.get("visibility", "visible") != "hidden"]
    if len(sources) == 1 and sources[0]:
        return layer(sources[0])
    raise ImageReadError(
        f"{label} has no merged image (mergedimage.png), and GPT Studio cannot flatten its layers; "
        "re-save it in Krita, GIMP or MyPaint."
    )
