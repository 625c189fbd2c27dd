"""OpenRaster documents: what we write reopens exactly, other programs can read it, bad files say why."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from core_imgutil import gradient, random16
from PIL import Image

from gptstudio.core.errors import ImageReadError, ImageWriteError
from gptstudio.core.imageio import from_array, to_uint16
from gptstudio.core.ora import JSON_ENTRY, is_ora, read_ora, write_ora


def _mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[h // 4 : h // 2, w // 3 : w // 2] = 255
    m[0, 0] = 77  # a soft edge value must survive too
    return m


def test_round_trip_8bit_with_mask_and_meta(tmp_path: Path) -> None:
    img = from_array(gradient(40, 60, seed=1))
    orig = from_array(gradient(40, 60, seed=2))
    mask = _mask(40, 60)
    meta = {"history": [{"task": "denoise", "strength": 0.5}], "params": {"task": "denoise", "seed": 3}}
    path = write_ora(tmp_path / "doc.ora", img, orig, mask, meta)
    doc = read_ora(path)
    assert np.array_equal(gradient(40, 60, seed=1), (doc.image.rgb * 255 + 0.5).astype(np.uint8))
    assert np.array_equal(gradient(40, 60, seed=2), (doc.original.rgb * 255 + 0.5).astype(np.uint8))
    assert doc.mask is not None and np.array_equal(doc.mask, mask)
    assert doc.meta["history"] == meta["history"]
    assert doc.original.params == meta["params"]
    assert doc.image.bit_depth == 8


def test_round_trip_16bit_and_alpha(tmp_path: Path) -> None:
    rgb = random16(24, 32, 3, seed=4)
    alpha = random16(24, 32, 1, seed=5)[:, :, 0]
    img = from_array(rgb, alpha)
    path = write_ora(tmp_path / "deep.ora", img)
    doc = read_ora(path)
    assert doc.image.bit_depth == 16
    assert np.array_equal(to_uint16(doc.image.rgb), rgb)
    assert doc.image.alpha is not None and np.array_equal(to_uint16(doc.image.alpha), alpha)
    assert doc.mask is None
    with zipfile.ZipFile(path) as zf:
        png = zf.read("data/image.png")
    assert png[24] == 16 and png[25] == 6  # IHDR: 16 bits per sample, RGBA


def test_zip_layout_follows_openraster(tmp_path: Path) -> None:
    img = from_array(gradient(300, 600))
    path = write_ora(tmp_path / "spec.ora", img, mask=_mask(300, 600), meta={})
    assert is_ora(path)
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"image/openraster"
        assert path.read_bytes()[30:54] == b"mimetypeimage/openraster"  # no extra field in between
        root = ET.fromstring(zf.read("stack.xml"))
        assert root.tag == "image" and root.get("w") == "600" and root.get("h") == "300"
        layers = [(el.get("name"), el.get("src"), el.get("visibility")) for el in root.iter("layer")]
        assert layers == [
            ("Mask", "data/mask.png", "hidden"),
            ("Image", "data/image.png", "visible"),
            ("Original", "data/original.png", "hidden"),
        ]
        for _, src, _ in layers:
            assert src in zf.namelist()
        with Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png"))) as thumb:
            assert max(thumb.size) <= 256 and thumb.size == (256, 128)
        with Image.open(io.BytesIO(zf.read("mergedimage.png"))) as merged:
            assert merged.size == (600, 300)
        assert json.loads(zf.read(JSON_ENTRY))["format"] == "gptstudio-document"


def test_write_is_atomic_and_keeps_old_file_on_error(tmp_path: Path) -> None:
    path = write_ora(tmp_path / "a.ora", from_array(gradient(10, 10)))
    before = path.read_bytes()
    with pytest.raises(ImageWriteError):
        write_ora(path, from_array(gradient(10, 10)), mask=np.zeros((3, 3), np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.ora"]


def _zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED if name == "mimetype" else None)
    return path


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_foreign_openraster_opens_as_its_merged_image(tmp_path: Path) -> None:
    merged = gradient(20, 30, seed=7)
    stack = b"<image w='30' h='20'><stack><layer src='data/a.png' name='bg'/></stack></image>"
    path = _zip(
        tmp_path / "krita.ora",
        [
            ("mimetype", b"image/openraster"),
            ("stack.xml", stack),
            ("data/a.png", _png(gradient(20, 30, seed=8))),
            ("mergedimage.png", _png(merged)),
        ],
    )
    doc = read_ora(path)
    assert np.array_equal((doc.image.rgb * 255 + 0.5).astype(np.uint8), merged)
    assert doc.original is doc.image and doc.mask is None and doc.meta == {}


@pytest.mark.parametrize(
    "entries, words",
    [
        ([("readme.txt", b"hi")], "not an OpenRaster"),
        ([("mimetype", b"application/zip"), ("stack.xml", b"<image/>")], "mimetype"),
        ([("mimetype", b"image/openraster")], "stack.xml"),
        ([("mimetype", b"image/openraster"), ("stack.xml", b"<image><stack>")], "does not parse"),
        (
            [("mimetype", b"image/openraster"), ("stack.xml", b"<image><stack/></image>")],
            "no merged image",
        ),
        (
            [
                ("mimetype", b"image/openraster"),
                ("stack.xml", b"<image><stack/></image>"),
                ("mergedimage.png", b"\x89PNG not really"),
            ],
            "cannot be read",
        ),
    ],
)
def test_damaged_or_foreign_files_raise_image_read_error(
    tmp_path: Path, entries: list[tuple[str, bytes]], words: str
) -> None:
    path = _zip(tmp_path / "bad.ora", entries)
    with pytest.raises(ImageReadError, match=words):
        read_ora(path)


def test_not_a_zip_and_truncated_zip(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ora"
    junk.write_bytes(b"this is no zip at all")
    with pytest.raises(ImageReadError, match=r"junk\.ora"):
        read_ora(junk)
    good = write_ora(tmp_path / "good.ora", from_array(gradient(50, 50)))
    cut = tmp_path / "cut.ora"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ImageReadError, match=r"cut\.ora"):
        read_ora(cut)


def test_our_json_pointing_at_a_missing_layer(tmp_path: Path) -> None:
    meta = {"format": "gptstudio-document", "layers": {"image": "data/gone.png"}}
    path = _zip(
        tmp_path / "broken.ora",
        [
            ("mimetype", b"image/openraster"),
            ("stack.xml", b"<image><stack/></image>"),
            (JSON_ENTRY, json.dumps(meta).encode()),
        ],
    )
    with pytest.raises(ImageReadError, match="missing"):
        read_ora(path)


def test_mask_layer_holds_only_the_painted_box(tmp_path: Path) -> None:
    """A small mask on a big canvas is stored as its box, placed by the layer's x/y (as Krita and
    GIMP read it), and comes back full size."""
    mask = np.zeros((300, 400), np.uint8)
    mask[120:150, 250:310] = 255
    mask[140, 200] = 90
    path = write_ora(tmp_path / "boxed.ora", from_array(gradient(300, 400)), mask=mask)
    with zipfile.ZipFile(path) as zf:
        layers = ET.fromstring(zf.read("stack.xml")).iter("layer")
        layer = next(el for el in layers if el.get("name") == "Mask")
        assert (layer.get("x"), layer.get("y")) == ("200", "120")
        with Image.open(io.BytesIO(zf.read("data/mask.png"))) as png:
            assert png.size == (110, 30)
    doc = read_ora(path)
    assert doc.mask is not None and np.array_equal(doc.mask, mask)


def test_mask_layer_placed_outside_the_image_is_damage(tmp_path: Path) -> None:
    mask = np.zeros((40, 60), np.uint8)
    mask[30:40, 50:60] = 255
    good = write_ora(tmp_path / "good.ora", from_array(gradient(40, 60)), mask=mask)
    bad = tmp_path / "moved.ora"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "stack.xml":
                data = data.replace(b'x="50"', b'x="55"')
            dst.writestr(info, data)
    with pytest.raises(ImageReadError, match="outside the image"):
        read_ora(bad)
