"""Outpainting and what every model's fill goes through: the canvas extended on any side with the
border as the hole, `gptstudio outpaint`, the stored parameters repeating it, and the seam's colour
matched to the photo."""

from __future__ import annotations

import numpy as np
import pytest

from gptstudio import tasks
from gptstudio.cli import main
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.imagedata import from_array
from gptstudio.core.imageio import load_image, read_params, save_image
from gptstudio.tasks.inpaint_seam import match_seam_colour
from gptstudio.tasks.outpaint import extend_canvas
from gptstudio.tasks.requests import InpaintRequest, request_from_params


def _photo(h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w, y / h, np.full_like(x, 0.5)], axis=2)


def test_extend_canvas_puts_the_picture_inside_a_masked_border() -> None:
    rgb = _photo()
    alpha = np.ones((48, 64), np.float32)
    mask = np.zeros((48, 64), np.float32)
    mask[5:10, 5:10] = 1
    image, hole = extend_canvas(from_array(rgb, alpha), 8, 4, 16, 0, mask=mask)
    assert image.size == (88, 52) and image.alpha is not None and image.alpha.shape == (52, 88)
    assert np.array_equal(image.rgb[4:, 8:72], rgb), "the picture is untouched"
    assert np.array_equal(image.rgb[0, 8:72], rgb[0]), "the border starts as the edge, stretched"
    assert hole[:4].min() == 1 and hole[:, :8].min() == 1 and hole[:, 72:].min() == 1
    assert hole[4 + 5 : 4 + 10, 8 + 5 : 8 + 10].min() == 1, "the old mask moved with the picture"
    assert hole[4 + 20, 8 + 20] == 0
    with pytest.raises(InvalidRequestError, match="left border"):
        extend_canvas(from_array(rgb), -1, 0, 0, 0)


def test_outpaint_request_records_and_repeats_the_extension(tmp_path) -> None:  # type: ignore[no-untyped-def]
    image = from_array(_photo())
    result = tasks.run(InpaintRequest(image=image, extend=(0, 0, 32, 16), model="classical-telea", seed=3))
    assert result.image.size == (96, 64)
    assert result.params["extend"] == [0, 0, 32, 16] and result.params["task"] == "inpaint"
    kept = result.image.rgb[:40, :56]  # away from the seam's feather (4 px) and grow (2 px)
    assert np.allclose(kept, image.rgb[:40, :56], atol=1e-4), "the photo's own pixels are kept"
    out = tmp_path / "wide.png"
    save_image(result.image, out, params=result.params)
    again = request_from_params(read_params(out), image)
    assert isinstance(again, InpaintRequest) and again.extend == (0, 0, 32, 16)
    assert tasks.run(again).image.size == (96, 64)


def test_outpaint_command_extends_and_refuses_nothing_to_do(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "photo.png"
    save_image(from_array(_photo()), src)
    out = tmp_path / "wider.png"
    code = main(["outpaint", str(src), "--left", "16", "--right", "16", "--model", "classical-telea",
                 "--seed", "5", "-o", str(out)])  # fmt: skip
    assert code == 0
    assert load_image(out).size == (96, 48)
    assert read_params(out)["extend"] == [16, 0, 16, 0]
    assert main(["outpaint", str(src), "-o", str(tmp_path / "same.png")]) != 0
    assert "how far to extend" in capsys.readouterr().err
    assert not (tmp_path / "same.png").exists()


def test_seam_colour_is_matched_inside_the_hole() -> None:
    known = np.full((64, 64, 3), 0.5, np.float32)
    hole = np.zeros((64, 64), np.float32)
    hole[16:48, 16:48] = 1
    filled = known + np.float32(0.1)  # a model that drifted brighter everywhere
    out = match_seam_colour(known, filled, hole)
    assert np.abs(out[hole > 0] - 0.5).max() < 0.01, "the drift is taken out inside the hole"
