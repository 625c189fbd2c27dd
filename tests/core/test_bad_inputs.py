"""Bad inputs: each gives its own clear error, and nothing is written or changed on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from core_imgutil import gradient, png_claiming_size
from PIL import Image

from gptstudio import tasks
from gptstudio.core import imageio
from gptstudio.core.errors import GptStudioError, ImageReadError, ImageTooLargeError, MaskError
from gptstudio.core.imageio import from_array, load_image, save_image
from gptstudio.core.masks import load_mask
from gptstudio.tasks import DenoiseRequest, InpaintRequest


def process(src: Path, out: Path) -> None:
    """What the CLI and batch do: open, run a task, save. Failures must happen before any write."""
    image = load_image(src)
    result = tasks.run(DenoiseRequest(image=image, model="classical-nlm", strength=0.3))
    save_image(result.image, out)


def make_zero_byte(folder: Path) -> Path:
    path = folder / "empty.png"
    path.write_bytes(b"")
    return path


def make_truncated_jpeg(folder: Path) -> Path:
    path = folder / "cut.jpg"
    Image.fromarray(gradient(64, 64)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_text_as_png(folder: Path) -> Path:
    path = folder / "notes.png"
    path.write_text("This is a shopping list, not a picture.\n")
    return path


def make_one_pixel(folder: Path) -> Path:
    path = folder / "dot.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(path)
    return path


def make_huge_header(folder: Path) -> Path:
    return png_claiming_size(folder / "bomb.png", 30000, 30000)


CASES = [
    (make_zero_byte, ImageReadError, "empty"),
    (make_truncated_jpeg, ImageReadError, "damaged or truncated"),
    (make_text_as_png, ImageReadError, "not an image"),
    (make_one_pixel, ImageReadError, "1×1"),
    (make_huge_header, ImageTooLargeError, "--max-megapixels"),
]


@pytest.mark.parametrize(("make", "error", "words"), CASES, ids=[c[0].__name__[5:] for c in CASES])
def test_bad_input_gives_clear_error_and_writes_nothing(
    tmp_path: Path, make: object, error: type[GptStudioError], words: str
) -> None:
    src = make(tmp_path)  # type: ignore[operator]
    before = src.read_bytes()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(error, match=words) as info:
        process(src, out_dir / "result.png")
    message = str(info.value)
    assert src.name in message  # the user learns which file
    assert "\n" not in message and "Traceback" not in message
    assert list(out_dir.iterdir()) == []
    assert src.read_bytes() == before


def test_huge_header_message_names_size_and_option(tmp_path: Path) -> None:
    with pytest.raises(ImageTooLargeError) as info:
        load_image(make_huge_header(tmp_path))
    assert "30000×30000" in str(info.value)
    assert "--max-megapixels 901" in str(info.value)


def test_max_megapixels_option_raises_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.fromarray(gradient(1000, 2500)).save(path)  # 2.5 megapixels
    with pytest.raises(ImageTooLargeError, match="--max-megapixels 3"):
        load_image(path, max_megapixels=1)
    try:
        # Even when the default (and Pillow's own global) limit is far lower, the option wins.
        imageio.set_max_megapixels(1)
        with pytest.raises(ImageTooLargeError):
            load_image(path)
        assert load_image(path, max_megapixels=3).size == (2500, 1000)
    finally:
        imageio.set_max_megapixels(None)
    assert load_image(path).size == (2500, 1000)


def test_huge_header_with_raised_limit_is_reported_as_damaged(tmp_path: Path) -> None:
    # 30000×30000 is allowed with the option, but this file has no such pixel data: it must fail
    # as damaged, quickly, not hang or crash.
    bomb = png_claiming_size(tmp_path / "bomb.png", 3000, 3000)
    with pytest.raises(ImageReadError, match="damaged"):
        load_image(bomb, max_megapixels=10)


def test_unreadable_file_is_not_called_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "private.png"
    Image.new("RGB", (4, 4)).save(path)

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", denied)
    with pytest.raises(ImageReadError, match="permission denied"):
        load_image(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        load_image(tmp_path)


def test_mask_of_wrong_size_gives_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    image = from_array(gradient(20, 30))
    Image.new("L", (31, 20), 255).save(tmp_path / "mask.png")
    with pytest.raises(MaskError, match=r"31×20.*30×20"):
        load_mask(tmp_path / "mask.png", image.size)
    wrong = np.ones((30, 20), np.float32)  # transposed
    with pytest.raises(MaskError, match="20×30 but the image is 30×20"):
        tasks.run(InpaintRequest(image=image, mask=wrong, model="classical-telea"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.png"]


def test_unreadable_mask_is_a_mask_error(tmp_path: Path) -> None:
    (tmp_path / "mask.png").write_text("not an image")
    with pytest.raises(MaskError, match="mask could not be read"):
        load_mask(tmp_path / "mask.png")


def test_empty_mask_is_refused(tmp_path: Path) -> None:
    image = from_array(gradient(8, 8))
    with pytest.raises(MaskError, match="empty"):
        tasks.run(InpaintRequest(image=image, mask=np.zeros((8, 8), np.float32), model="classical-telea"))
