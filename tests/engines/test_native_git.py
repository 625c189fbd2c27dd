"""Our inpainting Transformer (GIT): weights detected from the file alone, any size that fits the
declared multiple, known pixels untouched, seeds that change the fill, bf16 close to fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gptstudio.core.errors import ModelError
from gptstudio.core.progress import TaskState
from gptstudio.engines.native import shipped
from gptstudio.engines.native.inpaint_arch import GIT, GITConfig, PatchDiscriminator
from gptstudio.engines.native.inpaint_engine import SHIFT, GITEngine, size_requirements
from gptstudio.engines.native.inpaint_finish import heal_seam
from gptstudio.engines.native.inpaint_io import detect, load, save

TINY = GITConfig(width=8, local_blocks=(1, 1, 2), global_blocks=2, global_heads=2)
SAMPLING = dict(prompt="", negative_prompt="", steps=1, guidance=0.0, strength=1.0)


def tiny_git(seed: int = 0) -> GIT:
    """A tiny GIT whose output layer is random too (a fresh one returns the blanked input)."""
    torch.manual_seed(seed)
    model = GIT(TINY)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    return model.eval()


def test_weights_round_trip_through_safetensors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = tiny_git()
    path = tmp_path / "git.safetensors"
    save(model, path, {"steps": "3"})
    loaded, meta = load(path)
    assert loaded.config == TINY and meta["architecture"] == "GIT" and meta["steps"] == "3"
    x, hole = torch.rand(1, 3, 32, 48), (torch.rand(1, 1, 32, 48) > 0.6).float()
    with torch.no_grad():  # stored in fp16: equal to fp16 precision
        assert torch.allclose(loaded(x, hole), model(x, hole), atol=2e-3)
    assert path.stat().st_size < sum(p.numel() for p in model.parameters()) * 2 + 20_000


def test_other_weights_are_refused_with_a_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError, match="not a GPT Studio inpainting Transformer"):
        detect({"conv.weight": torch.zeros(3, 3, 3, 3)})
    pickle = tmp_path / "weights.pth"
    pickle.write_bytes(b"not read")
    with pytest.raises(ModelError, match=r"only \.safetensors"):
        load(pickle)


def test_fresh_network_keeps_known_pixels_and_refuses_bad_sizes() -> None:
    model = GIT(TINY).eval()
    x, hole = torch.rand(2, 3, 32, 64), (torch.rand(2, 1, 32, 64) > 0.5).float()
    with torch.no_grad():
        y = model(x, hole, torch.randn_like(hole))
    assert torch.equal(y, x * (1 - hole)), "the output layer starts at zero: the blanked input"
    assert size_requirements(model).multiple_of == 16
    with pytest.raises(ValueError, match="multiple of 16"):
        model(torch.rand(1, 3, 30, 32), torch.zeros(1, 1, 30, 32))


def test_discriminator_scores_patches() -> None:
    scores, feats = PatchDiscriminator(width=8)(torch.rand(2, 3, 64, 64), torch.zeros(2, 1, 64, 64))
    assert scores.shape == (2, 1, 8, 8) and len(feats) == 4


def test_engine_fills_only_what_the_seed_allows() -> None:
    engine = GITEngine(tiny_git(), shipped.INPAINT_INFO, "cpu", bf16=False)
    rng = np.random.default_rng(0)
    rgb = rng.random((40, 52, 3), dtype=np.float32)  # not a multiple of 16: padded inside
    hole = np.zeros((40, 52), np.float32)
    hole[10:30, 15:40] = 1
    a = engine.inpaint(rgb, hole, seed=1, state=TaskState(), **SAMPLING)
    b = engine.inpaint(rgb, hole, seed=1, state=TaskState(), **SAMPLING)
    c = engine.inpaint(rgb, hole, seed=2, state=TaskState(), **SAMPLING)
    assert a.shape == rgb.shape and a.dtype == np.float32
    assert np.array_equal(a, b), "the same seed repeats the fill"
    inside = hole > 0
    assert np.abs(a - c)[inside].mean() > 1e-3, "another seed, another fill"
    untouched = engine.inpaint(rgb, np.zeros_like(hole), seed=1, state=TaskState(), **SAMPLING)
    assert np.array_equal(untouched, rgb)


def test_bf16_engine_is_close_to_fp32() -> None:
    model = tiny_git()
    rgb = np.random.default_rng(1).random((32, 32, 3), dtype=np.float32)
    hole = np.zeros((32, 32), np.float32)
    hole[8:24, 8:24] = 1
    fp32 = GITEngine(model, shipped.INPAINT_INFO, "cpu", bf16=False).inpaint(
        rgb, hole, seed=0, state=TaskState(), **SAMPLING
    )
    bf16 = GITEngine(tiny_git(), shipped.INPAINT_INFO, "cpu", bf16=True).inpaint(
        rgb, hole, seed=0, state=TaskState(), **SAMPLING
    )
    assert np.abs(fp32 - bf16).max() < 0.05


def test_self_ensemble_averages_the_shifted_and_mirrored_fills() -> None:
    model = tiny_git()
    rgb = np.random.default_rng(2).random((32, 48, 3), dtype=np.float32)
    hole = np.zeros((32, 48), np.float32)
    hole[8:20, 10:30] = 1
    engine = GITEngine(model, shipped.INPAINT_INFO, "cpu", bf16=False, variants=3, seam_band=0, settled=False)
    noise = np.random.default_rng(4).standard_normal((32 + SHIFT + 16, 48 + SHIFT + 16)).astype(np.float32)

    def one(dy: int, dx: int, mirrored: bool) -> torch.Tensor:
        """The network on the picture padded by dy/dx at the top/left and to a multiple of 16 at the
        bottom/right, the noise at the same pixels."""
        pad = ((dy, -(32 + dy) % 16), (dx, -(48 + dx) % 16))
        image, m = np.pad(rgb, (*pad, (0, 0)), mode="reflect"), np.pad(hole, pad, mode="reflect")
        n = noise[SHIFT - dy : SHIFT - dy + m.shape[0], SHIFT - dx : SHIFT - dx + m.shape[1]]
        x, mh, nz = (torch.from_numpy(np.ascontiguousarray(a)) for a in (image, m, n))
        x, mh, nz = x.permute(2, 0, 1)[None], mh[None, None], nz[None, None]
        if mirrored:
            return model(x.flip(-1), mh.flip(-1), nz.flip(-1)).flip(-1)[0, :, dy : dy + 32, dx : dx + 48]
        return model(x, mh, nz)[0, :, dy : dy + 32, dx : dx + 48]

    with torch.inference_mode():
        fills = [one(0, 0, False), one(SHIFT, SHIFT, False), one(0, 0, True)]
        expected = (sum(fills) / 3).clamp(0, 1).permute(1, 2, 0).numpy()
    got = engine.inpaint(rgb, hole, seed=4, state=TaskState(), **SAMPLING)
    inside = hole > 0
    assert np.allclose(got[inside], expected[inside], atol=1e-5)
    assert not torch.allclose(fills[0], fills[1], atol=1e-3), "the shifted picture is another fill"
    assert not torch.allclose(fills[0], fills[2], atol=1e-3), "the mirror is another fill"


def test_the_seam_band_continues_the_rim_and_fades_into_the_fill() -> None:
    """A fill that ignores its surroundings (black in a mid-grey picture with a vertical edge)
    joins the rim through the band: next to the known pixels it carries their values, including
    the edge running into the hole, and from the band's width on it is the network's fill."""
    rgb = np.full((64, 64, 3), 0.5, np.float32)
    rgb[:, 32:] = 0.8
    hole = np.zeros((64, 64), np.float32)
    hole[16:48, 8:56] = 1
    fill = np.where(hole[..., None] > 0, 0.0, rgb).astype(np.float32)
    healed = heal_seam(rgb, hole, fill, band=8)
    assert np.array_equal(healed[hole == 0], rgb[hole == 0]), "known pixels stay as they were"
    first = healed[16, 8:56, 0]  # the hole's first row, next to the known row above it
    assert np.abs(first[:20] - 0.5 * 7 / 8).max() < 0.03 and np.abs(first[-12:] - 0.8 * 7 / 8).max() < 0.03
    assert np.array_equal(healed[28:36, 20:44], fill[28:36, 20:44]), "deep inside: the fill itself"
    assert np.array_equal(heal_seam(rgb, hole, fill, band=0), fill)


def test_what_lies_under_the_hole_never_reaches_the_fill() -> None:
    """A hole running off the picture's edges (where the engine pads to the network's multiple and
    shifts by SHIFT): the object being removed must not come back through the padding, which
    mirrors the picture, so the fill is the same whatever the hole covered."""
    engine = GITEngine(tiny_git(), shipped.INPAINT_INFO, "cpu", bf16=False, seam_band=0)
    rgb = np.random.default_rng(5).random((40, 52, 3), dtype=np.float32)  # padded to 48×64 inside
    hole = np.zeros((40, 52), np.float32)
    hole[:14, 30:] = 1  # touches the top and the right edge
    hole[28:, :12] = 1  # and the bottom and the left edge
    red, green = rgb.copy(), rgb.copy()
    red[hole > 0] = (1.0, 0.0, 0.0)
    green[hole > 0] = (0.0, 1.0, 0.0)
    a = engine.inpaint(red, hole, seed=3, state=TaskState(), **SAMPLING)
    b = engine.inpaint(green, hole, seed=3, state=TaskState(), **SAMPLING)
    assert np.array_equal(a, b)
