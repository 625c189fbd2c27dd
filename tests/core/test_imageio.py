"""Image files in and out: what a user opens comes back with the same pixels, depth and metadata."""

from __future__ import annotations

import json
import os
import stat
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from core_imgutil import (
    cmyk_icc,
    exif_bytes,
    gradient,
    gray_icc,
    orient_source,
    random16,
    read16_cv2,
    srgb_icc,
    write_png16,
)
from PIL import Image, ImageOps

from gptstudio.core import imageio
from gptstudio.core.errors import ImageReadError, ImageWriteError
from gptstudio.core.imageio import (
    ImageData,
    encode_image,
    from_array,
    load_image,
    read_params,
    save_image,
    to_uint8,
)

LOSSLESS = ["png", "tif", "bmp"]


def u8(image: ImageData) -> np.ndarray:
    return to_uint8(image.rgb)


# --- formats and modes -------------------------------------------------------------------------


@pytest.mark.parametrize("ext", LOSSLESS)
def test_lossless_formats_round_trip_exactly(tmp_path: Path, ext: str) -> None:
    pixels = gradient(13, 17)
    src = tmp_path / f"in.{ext}"
    Image.fromarray(pixels).save(src)
    image = load_image(src)
    assert image.size == (17, 13)
    np.testing.assert_array_equal(u8(image), pixels)
    out = save_image(image, tmp_path / f"out.{ext}")
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), pixels)


@pytest.mark.parametrize("ext", ["jpg", "webp"])
def test_lossy_formats_round_trip_closely(tmp_path: Path, ext: str) -> None:
    pixels = gradient(32, 48)
    src = tmp_path / f"in.{ext}"
    Image.fromarray(pixels).save(src, quality=98)
    image = load_image(src)
    out = save_image(image, tmp_path / f"out.{ext}")
    back = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert np.abs(back - u8(image).astype(int)).mean() < 3


def test_gray_and_bilevel_become_equal_channels(tmp_path: Path) -> None:
    gray = gradient(10, 12)[:, :, 0]
    Image.fromarray(gray, "L").save(tmp_path / "l.png")
    Image.fromarray(gray > 128).save(tmp_path / "one.png")
    assert Image.open(tmp_path / "one.png").mode == "1"
    image = load_image(tmp_path / "l.png")
    np.testing.assert_array_equal(u8(image), np.repeat(gray[:, :, None], 3, 2))
    bilevel = load_image(tmp_path / "one.png")
    np.testing.assert_array_equal(u8(bilevel)[:, :, 1], np.where(gray > 128, 255, 0))


def test_palette_with_transparency_keeps_colours_and_alpha(tmp_path: Path) -> None:
    im = Image.new("P", (6, 4), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.paste(1, (3, 0, 6, 4))
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    image = load_image(tmp_path / "p.png")
    assert image.alpha is not None
    np.testing.assert_array_equal(image.alpha[:, :3], 0.0)
    np.testing.assert_array_equal(image.alpha[:, 3:], 1.0)
    np.testing.assert_array_equal(u8(image)[0, 4], [0, 255, 0])


def test_la_keeps_alpha(tmp_path: Path) -> None:
    gray = gradient(5, 7)[:, :, 0]
    a = np.arange(35, dtype=np.uint8).reshape(5, 7) * 7
    Image.fromarray(np.dstack([gray, a]), "LA").save(tmp_path / "la.png")
    image = load_image(tmp_path / "la.png")
    np.testing.assert_array_equal(to_uint8(image.alpha), a)
    np.testing.assert_array_equal(u8(image)[:, :, 2], gray)


@pytest.mark.parametrize("ext", ["png", "webp", "tif"])
def test_alpha_survives_save(tmp_path: Path, ext: str) -> None:
    rgba = np.dstack([gradient(8, 9), np.linspace(0, 255, 72).reshape(8, 9).astype(np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    image = load_image(tmp_path / "in.png")
    out = save_image(image, tmp_path / f"out.{ext}")
    back = load_image(out)
    assert back.alpha is not None
    np.testing.assert_allclose(back.alpha, image.alpha, atol=1.5 / 255)


def test_cmyk_jpeg_without_profile_converts_to_rgb(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red ink
    cmyk.paste((0, 0, 0, 255), (0, 0, 4, 8))  # black
    cmyk.save(tmp_path / "c.jpg", quality=100)
    image = load_image(tmp_path / "c.jpg")
    assert image.icc_profile is None
    np.testing.assert_allclose(u8(image)[4, 6].astype(int), [255, 0, 0], atol=6)
    np.testing.assert_allclose(u8(image)[4, 1].astype(int), [0, 0, 0], atol=6)


def test_cmyk_jpeg_with_profile_is_converted_through_it(tmp_path: Path) -> None:
    def warm_press(c: int, m: int, y: int, k: int) -> list[float]:
        # This press prints every colour warmer than a naive conversion would show it.
        return [255 * (1 - c) * (1 - k), 230 * (1 - m) * (1 - k), 178 * (1 - y) * (1 - k)]

    cmyk = Image.new("CMYK", (8, 8), (255, 0, 0, 0))  # cyan ink only
    cmyk.save(tmp_path / "c.jpg", quality=100, icc_profile=cmyk_icc(warm_press))
    image = load_image(tmp_path / "c.jpg")
    np.testing.assert_allclose(u8(image)[4, 4].astype(int), [0, 230, 178], atol=12)  # naive: 0,255,255
    assert image.icc_profile is None  # the pixels are sRGB now
    out = save_image(image, tmp_path / "out.png")
    assert Image.open(out).info.get("icc_profile") is None


def test_gray_profile_converts_gray_pixels_to_srgb(tmp_path: Path) -> None:
    Image.new("L", (6, 6), 128).save(tmp_path / "g.png", icc_profile=gray_icc(1.0))  # linear-light gray
    image = load_image(tmp_path / "g.png")
    assert image.icc_profile is None  # a gray profile cannot describe RGB output
    value = u8(image)[3, 3].astype(int)
    assert np.ptp(value) <= 1 and 180 <= value[0] <= 195  # 50 % linear light is sRGB ~188, not 128


def test_cmyk_profile_is_never_attached_to_rgb_output(tmp_path: Path) -> None:
    # A profile that says CMYK but cannot be used: the picture still opens, and the RGB output
    # must not carry a CMYK profile (viewers would show wrong colours or refuse the file).
    fake = bytearray(srgb_icc())
    fake[16:20] = b"CMYK"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", icc_profile=bytes(fake))
    image = load_image(tmp_path / "c.jpg")
    assert image.icc_profile is None
    out = save_image(image, tmp_path / "out.jpg")
    assert Image.open(out).info.get("icc_profile") is None
    np.testing.assert_allclose(u8(image)[0, 0].astype(int), [255, 0, 0], atol=6)


# --- 16 bits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_png_read_and_written_with_full_precision(tmp_path: Path, channels: int) -> None:
    values = random16(6, 9, channels)
    src = write_png16(tmp_path / "in.png", values)
    assert Image.open(src).mode in ("RGB", "RGBA")  # Pillow alone would reduce it to 8 bits
    image = load_image(src)
    assert image.bit_depth == 16
    np.testing.assert_array_equal(imageio.to_uint16(image.rgb), values[:, :, :3])
    if channels == 4:
        np.testing.assert_array_equal(imageio.to_uint16(image.alpha), values[:, :, 3])
    out = save_image(image, tmp_path / "out.png")
    np.testing.assert_array_equal(read16_cv2(out), values)


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_tiff_read_and_written_with_full_precision(tmp_path: Path, channels: int) -> None:
    import cv2

    values = random16(7, 5, channels)
    src = tmp_path / "in.tif"
    cv2.imwrite(str(src), values[:, :, [2, 1, 0, 3][:channels]])
    image = load_image(src)
    assert image.bit_depth == 16
    np.testing.assert_array_equal(imageio.to_uint16(image.rgb), values[:, :, :3])
    out = save_image(image, tmp_path / "out.tif")
    np.testing.assert_array_equal(read16_cv2(out), values)
    assert Image.open(out).tag_v2[258] == (16,) * channels


def test_16bit_gray_png_and_tiff(tmp_path: Path) -> None:
    gray = random16(6, 8, 1)[:, :, 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    Image.fromarray(gray).save(tmp_path / "g.tif")
    for name in ("g.png", "g.tif"):
        assert Image.open(tmp_path / name).mode == "I;16"
        image = load_image(tmp_path / name)
        assert image.bit_depth == 16
        np.testing.assert_array_equal(imageio.to_uint16(image.rgb[:, :, 1]), gray)
        out = save_image(image, tmp_path / f"out-{name}")
        assert Image.open(out).mode == "I;16"  # grey stays grey: one channel, 16 bits
        np.testing.assert_array_equal(read16_cv2(out), gray)


def test_dark_16bit_gray_is_not_mistaken_for_8bit(tmp_path: Path) -> None:
    gray = np.full((4, 4), 200, np.uint16)  # a very dark 16-bit picture: every value below 256
    Image.fromarray(gray).save(tmp_path / "dark.png")
    image = load_image(tmp_path / "dark.png")
    assert image.bit_depth == 16
    assert image.rgb.max() == pytest.approx(200 / 65535)


def test_16bit_gray_with_alpha_png(tmp_path: Path) -> None:
    values = random16(5, 6, 2)
    image = load_image(write_png16(tmp_path / "la16.png", values))
    assert image.bit_depth == 16
    np.testing.assert_array_equal(imageio.to_uint16(image.rgb[:, :, 0]), values[:, :, 0])
    np.testing.assert_array_equal(imageio.to_uint16(image.alpha), values[:, :, 1])


def test_from_array_keeps_16bit_depth() -> None:
    values = random16(3, 4, 3)
    image = from_array(values)
    assert image.bit_depth == 16
    np.testing.assert_array_equal(imageio.to_uint16(image.rgb), values)
    rgba = from_array(np.dstack([gradient(3, 4), np.full((3, 4), 128, np.uint8)]))
    assert rgba.alpha is not None and rgba.rgb.shape == (3, 4, 3)
    with pytest.raises(ImageReadError, match="shape"):
        from_array(np.zeros((3, 4, 5)))


# --- metadata -------------------------------------------------------------------------------------


@pytest.mark.parametrize("src_ext", ["png", "jpg", "webp", "tif"])
@pytest.mark.parametrize("out_ext", ["png", "jpg", "webp", "tif"])
def test_icc_and_exif_carried_to_output(tmp_path: Path, src_ext: str, out_ext: str) -> None:
    icc = srgb_icc()
    src = tmp_path / f"in.{src_ext}"
    Image.fromarray(gradient(8, 8)).save(src, icc_profile=icc, exif=exif_bytes())
    image = load_image(src)
    out = save_image(image, tmp_path / f"out.{out_ext}")
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == icc
        exif = im.getexif()
        assert exif.get(0x010F) == "TestCam"
        assert exif.get_ifd(0x8769).get(0x9003) == "2024:01:02 03:04:05"


def test_16bit_png_carries_valid_icc_exif_and_params(tmp_path: Path) -> None:
    icc = srgb_icc()
    src = write_png16(
        tmp_path / "in.png",
        random16(4, 5, 3),
        [(b"iCCP", b"cam\x00\x00" + zlib.compress(icc)), (b"eXIf", exif_bytes(orientation=1)[6:])],
    )
    image = load_image(src)
    assert image.icc_profile == icc and image.exif is not None
    out = save_image(image, tmp_path / "out.png", params={"task": "denoise", "seed": 7})
    with Image.open(out) as im:  # Pillow checks each chunk's CRC and decompresses iCCP
        im.load()
        assert im.info["icc_profile"] == icc
        assert im.getexif().get(0x010F) == "TestCam"
    assert read_params(out)["seed"] == 7
    assert load_image(out).bit_depth == 16


def test_16bit_tiff_carries_icc_and_exif(tmp_path: Path) -> None:
    image = from_array(random16(4, 5, 3))
    icc = srgb_icc()  # made once: a profile's header holds the second it was made
    image = replace(image, icc_profile=icc, exif=exif_bytes(orientation=6))
    out = save_image(image, tmp_path / "out.tif")
    with Image.open(out) as im:
        assert im.info["icc_profile"] == icc
        assert im.getexif().get(0x010F) == "TestCam"
        assert im.getexif().get(0x0112) == 1  # the pixels we write are upright
    assert load_image(out).bit_depth == 16


def test_task_parameters_written_to_png_and_read_back(tmp_path: Path) -> None:
    params = {
        "task": "inpaint",
        "model": "classical-telea",
        "prompt": "a red barn — at dusk",
        "seed": 1234,
        "strength": 0.75,
        "steps": 12,
    }
    out = save_image(from_array(gradient(6, 6)), tmp_path / "out.png", params=params)
    stored = read_params(out)
    assert {k: stored[k] for k in params} == params
    assert stored["program"].startswith("gptstudio ")
    assert load_image(out).params == stored
    raw = Image.open(out).info[imageio.PARAMS_KEY]
    assert json.loads(raw) == stored


def test_read_params_of_a_foreign_png_is_empty(tmp_path: Path) -> None:
    Image.new("RGB", (3, 3)).save(tmp_path / "plain.png")
    assert read_params(tmp_path / "plain.png") == {}
    with pytest.raises(ImageReadError):
        read_params(tmp_path / "missing.png")


def test_orientation_helper_matches_pillow() -> None:
    upright = gradient(3, 5)
    for orientation in range(1, 9):
        im = Image.fromarray(orient_source(upright, orientation))
        exif = im.getexif()
        exif[0x0112] = orientation
        im.info["exif"] = exif.tobytes()
        np.testing.assert_array_equal(np.asarray(ImageOps.exif_transpose(im)), upright)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_upright_pixels(tmp_path: Path, orientation: int) -> None:
    upright = gradient(6, 10)
    src = tmp_path / "rot.png"
    Image.fromarray(orient_source(upright, orientation)).save(src, exif=exif_bytes(orientation))
    image = load_image(src)
    np.testing.assert_array_equal(u8(image), upright)
    out = save_image(image, tmp_path / "out.jpg")
    assert Image.open(out).getexif().get(0x0112) == 1
    assert Image.open(out).size == (10, 6)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_on_16bit_png(tmp_path: Path, orientation: int) -> None:
    upright = random16(4, 7, 3)
    src = write_png16(
        tmp_path / "rot16.png",
        orient_source(upright, orientation),
        [(b"eXIf", exif_bytes(orientation)[6:])],
    )
    image = load_image(src)
    np.testing.assert_array_equal(imageio.to_uint16(image.rgb), upright)
    out = save_image(image, tmp_path / "out.png")
    assert Image.open(out).getexif().get(0x0112) == 1


@pytest.mark.parametrize("orientation", [6, 7])
def test_tiff_orientation_tag_gives_upright_pixels(tmp_path: Path, orientation: int) -> None:
    upright = gradient(5, 9)
    src = tmp_path / "rot.tif"
    Image.fromarray(orient_source(upright, orientation)).save(src, tiffinfo={274: orientation})
    image = load_image(src)
    np.testing.assert_array_equal(u8(image), upright)
    out = save_image(image, tmp_path / "out.tif")
    assert Image.open(out).getexif().get(0x0112) == 1


def test_exif_orientation_on_jpeg(tmp_path: Path) -> None:
    upright = gradient(16, 24)
    src = tmp_path / "rot.jpg"
    Image.fromarray(orient_source(upright, 6)).save(src, exif=exif_bytes(6), quality=100, subsampling=0)
    image = load_image(src)
    assert image.size == (24, 16)
    assert np.abs(u8(image).astype(int) - upright).mean() < 3


# --- writing --------------------------------------------------------------------------------------


def test_save_refuses_to_overwrite_and_unknown_extension(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"original")
    with pytest.raises(ImageWriteError, match="already exists"):
        save_image(from_array(gradient(4, 4)), target)
    assert target.read_bytes() == b"original"
    with pytest.raises(ImageWriteError, match="Unknown output format"):
        save_image(from_array(gradient(4, 4)), tmp_path / "a.xyz")
    with pytest.raises(ImageWriteError):
        encode_image(from_array(gradient(4, 4)), "GIFF")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_failure_while_encoding_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")

    def broken_save(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises((ImageWriteError, OSError)):
        save_image(from_array(gradient(4, 4)), target, overwrite=True)
    assert target.read_bytes() == b"previous result"
    assert _leftovers(tmp_path) == ["out.png"]


def test_failure_while_writing_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gptstudio.core import atomic

    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    with pytest.raises(ImageWriteError, match="Nothing was changed"):
        save_image(from_array(gradient(4, 4)), target, overwrite=True)
    assert target.read_bytes() == b"previous result"
    assert _leftovers(tmp_path) == ["out.png"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_read_only_folder_gives_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ImageWriteError, match="locked"):
            save_image(from_array(gradient(4, 4)), folder / "out.png")
        assert _leftovers(folder) == []
    finally:
        folder.chmod(0o755)


def test_permission_denied_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a read-only folder does for a normal user (the suite may run as root, which ignores it).
    from gptstudio.core import atomic

    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "open", denied)
    with pytest.raises(ImageWriteError, match="Permission denied"):
        save_image(from_array(gradient(4, 4)), tmp_path / "out.png")
    assert _leftovers(tmp_path) == []


def test_unwritable_destination_gives_clear_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("I am a file")
    with pytest.raises(ImageWriteError, match="Cannot write"):
        save_image(from_array(gradient(4, 4)), not_a_folder / "out.png")
    assert _leftovers(tmp_path) == ["file.txt"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_file_gets_normal_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    out = save_image(from_array(gradient(4, 4)), tmp_path / "out.png")
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_overwrite_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    save_image(from_array(gradient(4, 4, seed=1)), target)
    save_image(from_array(gradient(4, 4, seed=2)), target, overwrite=True)
    np.testing.assert_array_equal(np.asarray(Image.open(target)), gradient(4, 4, seed=2))
    assert _leftovers(tmp_path) == ["out.png"]


def test_png_ihdr_is_where_chunk_insertion_expects() -> None:
    data = encode_image(from_array(random16(3, 3, 3)), "PNG", params={"task": "x"})
    assert data[12:16] == b"IHDR"
    length = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"tEXt" and length > 0


def test_result_of_another_size_keeps_its_alpha(tmp_path: Path) -> None:
    alpha = np.zeros((4, 6), np.float32)
    alpha[:, 3:] = 1
    image = from_array(gradient(4, 6), alpha=alpha)
    bigger = image.with_rgb(np.zeros((8, 12, 3), np.float32))  # what an upscaler hands back
    assert bigger.alpha is not None and bigger.alpha.shape == (8, 12)
    assert bigger.alpha[:, :5].max() < 0.5 and bigger.alpha[:, 7:].min() > 0.5
    back = load_image(save_image(bigger, tmp_path / "big.png"))
    assert back.size == (12, 8) and back.alpha is not None
