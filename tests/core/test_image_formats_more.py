"""What a user notices about files beyond pixels: parameters in every format, grey stays grey,
the size limit speaks plainly, and opening images leaves the rest of the program's Pillow alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from core_imgutil import exif_bytes, gradient, random16, srgb_icc
from PIL import Image

from gptstudio.core.errors import ImageTooLargeError
from gptstudio.core.imageio import from_array, load_image, read_params, save_image, to_uint16
from gptstudio.core.limits import describe_pixels

PARAMS = {
    "task": "inpaint",
    "model": "classical-telea",
    "prompt": "a red barn — at dusk",
    "seed": 1234,
    "feather": 4.0,
    "grow": 2,
    "mask_from_alpha": False,
    "history": [{"task": "denoise", "strength": 0.5}, {"task": "inpaint", "seed": 1234}],
}


@pytest.mark.parametrize("ext", ["png", "jpg", "webp", "tif"])
def test_parameters_are_stored_in_every_format_beside_the_camera_exif(tmp_path: Path, ext: str) -> None:
    src, icc = tmp_path / "camera.jpg", srgb_icc()  # one profile: its header holds the time it was made
    Image.fromarray(gradient(16, 20)).save(src, exif=exif_bytes(), icc_profile=icc, quality=95)
    out = save_image(load_image(src), tmp_path / f"out.{ext}", params=PARAMS)
    stored = read_params(out)
    assert {k: stored[k] for k in PARAMS} == PARAMS
    assert stored["program"].startswith("gptstudio ")
    assert load_image(out).params == stored  # what the editor's "Reuse parameters" reads
    with Image.open(out) as im:
        exif = im.getexif()
        assert exif.get(0x010F) == "TestCam"  # the camera's own data is kept
        assert exif.get_ifd(0x8769).get(0x9003) == "2024:01:02 03:04:05"
        assert im.info.get("icc_profile") == icc


def test_jpeg_parameters_are_in_the_exif_user_comment_as_json(tmp_path: Path) -> None:
    out = save_image(from_array(gradient(8, 8)), tmp_path / "out.jpg", params={"task": "denoise"})
    with Image.open(out) as im:
        comment = im.getexif().get_ifd(0x8769)[0x9286]
    assert comment.startswith(b"ASCII\x00\x00\x00")  # the EXIF character-code prefix
    assert json.loads(comment[8:])["task"] == "denoise"


def test_a_foreign_user_comment_is_not_taken_for_our_parameters(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + "a castle, Steps: 20".encode("utf-16-be")
    Image.fromarray(gradient(8, 8)).save(tmp_path / "a1111.jpg", exif=exif.tobytes())
    assert read_params(tmp_path / "a1111.jpg") == {}
    assert load_image(tmp_path / "a1111.jpg").params == {}


def test_a_very_long_history_still_saves_a_jpeg_with_the_parameters(tmp_path: Path) -> None:
    history = [{"task": "denoise", "strength": 0.5, "model": "classical-nlm" * 4}] * 2000
    out = save_image(
        from_array(gradient(8, 8)), tmp_path / "o.jpg", params={"task": "denoise", "history": history}
    )
    stored = read_params(out)
    assert stored["task"] == "denoise" and "history" not in stored  # JPEG's EXIF holds 64 KB


# --- grey stays grey ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ext", "mode"), [("png", "L"), ("jpg", "L"), ("tif", "L"), ("bmp", "L"), ("webp", "RGB")]
)
def test_8bit_grey_is_written_as_grey(tmp_path: Path, ext: str, mode: str) -> None:
    grey = gradient(12, 14)[:, :, 0]
    Image.fromarray(grey, "L").save(tmp_path / "in.png")
    image = load_image(tmp_path / "in.png")
    assert image.gray
    out = save_image(image, tmp_path / f"out.{ext}")
    with Image.open(out) as im:
        assert im.mode == mode  # WebP has no grey mode
        if ext in ("png", "tif", "bmp"):
            np.testing.assert_array_equal(np.asarray(im), grey)


def test_grey_with_alpha_stays_grey_with_alpha(tmp_path: Path) -> None:
    la = np.dstack([gradient(6, 7)[:, :, 0], np.linspace(0, 255, 42).reshape(6, 7).astype(np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "in.png")
    for ext in ("png", "tif"):
        out = save_image(load_image(tmp_path / "in.png"), tmp_path / f"out.{ext}")
        with Image.open(out) as im:
            assert im.mode == "LA"
            np.testing.assert_array_equal(np.asarray(im), la)


def test_16bit_grey_tiff_stays_16bit_grey(tmp_path: Path) -> None:
    grey = random16(6, 8, 1)[:, :, 0]
    Image.fromarray(grey).save(tmp_path / "g.tif")
    image = load_image(tmp_path / "g.tif")
    assert image.gray and image.bit_depth == 16
    out = save_image(image, tmp_path / "out.tif", params={"task": "denoise"})
    with Image.open(out) as im:
        assert im.mode == "I;16"
        np.testing.assert_array_equal(np.asarray(im), grey)
    assert read_params(out)["task"] == "denoise"


def test_colour_stays_colour(tmp_path: Path) -> None:
    out = save_image(from_array(gradient(6, 6)), tmp_path / "c.png")
    assert Image.open(out).mode == "RGB"
    out16 = save_image(from_array(random16(6, 6, 3)), tmp_path / "c16.png")
    assert load_image(out16).bit_depth == 16 and not load_image(out16).gray
    np.testing.assert_array_equal(to_uint16(load_image(out16).rgb), random16(6, 6, 3))


# --- the size limit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pixels", "text"),
    [
        (24e6, "24 megapixels"),
        (2.5e6, "2.5 megapixels"),
        (250_000, "0.25 megapixels"),
        (1200, "1,200 pixels"),
    ],
)
def test_sizes_are_never_printed_as_zero_megapixels(pixels: float, text: str) -> None:
    assert describe_pixels(pixels) == text


def test_a_small_limit_is_worded_plainly(tmp_path: Path) -> None:
    Image.fromarray(gradient(500, 600)).save(tmp_path / "p.png")  # 0.3 megapixels
    with pytest.raises(ImageTooLargeError) as info:
        load_image(tmp_path / "p.png", max_megapixels=0.25)
    message = str(info.value)
    assert "0.3 megapixels" in message and "limit of 0.25 megapixels" in message
    assert " 0 megapixels" not in message and "--max-megapixels 0.3" in message
    assert "Pillow" not in message


def test_opening_images_leaves_pillows_global_limit_alone(tmp_path: Path) -> None:
    Image.fromarray(gradient(1000, 2500)).save(tmp_path / "wide.png")  # 2.5 megapixels
    code = (
        "import sys; from PIL import Image; before = Image.MAX_IMAGE_PIXELS\n"
        "import gptstudio.core.imageio as io\n"
        "assert Image.MAX_IMAGE_PIXELS == before, 'import changed it'\n"
        "Image.MAX_IMAGE_PIXELS = 1000  # another part of a program chose a tiny limit\n"
        "assert io.load_image(sys.argv[1], max_megapixels=3).size == (2500, 1000)\n"
        "io.read_params(sys.argv[1])\n"
        "assert Image.MAX_IMAGE_PIXELS == 1000, 'load changed it'\n"
        "print('ok')"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "wide.png")], capture_output=True, text=True
    )
    assert run.stdout.strip() == "ok", run.stderr


def test_16bit_grey_with_alpha_keeps_every_bit_as_rgba(tmp_path: Path) -> None:
    # No encoder at hand writes 16-bit grey+alpha (and 16-bit LA TIFF cannot be read back), so it
    # is written as 16-bit RGBA: equal channels, the alpha and every bit kept.
    from core_imgutil import read16_cv2, write_png16

    values = random16(5, 6, 2)
    image = load_image(write_png16(tmp_path / "la16.png", values))
    assert image.gray and image.bit_depth == 16 and image.alpha is not None
    for ext in ("png", "tif"):
        back = read16_cv2(save_image(image, tmp_path / f"out.{ext}"))
        assert back.shape == (5, 6, 4)
        np.testing.assert_array_equal(back[:, :, 1], values[:, :, 0])
        np.testing.assert_array_equal(back[:, :, 3], values[:, :, 1])
