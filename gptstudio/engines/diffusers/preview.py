"""A cheap preview of the sampling loop's current latents: a linear map from latent channels to RGB.

Why fitted and not a published table of factors: the map has to match the model's own VAE (an
imported fine-tune, the tiny pipelines of the tests, a family added later), and it is quick to
find. At the first preview of a loaded model, a fixed chart of coloured blocks goes through the
model's own VAE encoder — into the same representation the loop works in (scaled and shifted,
FLUX.2's patchified and normalised latents, aMUSEd's continuous codes before quantisation) — and a
least-squares fit of RGB from those latents (with a bias) gives a ``(channels + 1) × 3`` matrix.
Each step then costs one small matrix product at the latent resolution instead of a VAE decode.
For aMUSEd the loop holds codebook indices: each codebook vector is mapped once, masked tokens
show as grey.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Blocks of the chart per edge, and latent cells per block.
_BLOCKS = 6
_CELLS = 2


def _chart(edge: int) -> np.ndarray:
    """A fixed chart of random colour blocks, ``edge × edge`` pixels, float in [0, 1]."""
    rng = np.random.default_rng(1234)
    colours = rng.random((_BLOCKS, _BLOCKS, 3), dtype=np.float32)
    block = edge // _BLOCKS
    return np.kron(colours, np.ones((block, block, 1), np.float32))


def _cells(rgb: np.ndarray, h: int, w: int) -> np.ndarray:
    """Average colour of each latent cell (the chart downscaled to the latent grid)."""
    H, W = rgb.shape[:2]
    return rgb.reshape(h, H // h, w, W // w, 3).mean(axis=(1, 3))


def _fit(latents: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Least squares RGB ≈ [latents, 1] @ M; latents (C, h, w), rgb (h, w, 3) -> M (C+1, 3)."""
    c = latents.shape[0]
    x = np.concatenate([latents.reshape(c, -1).T, np.ones((latents[0].size, 1), np.float32)], axis=1)
    m, *_ = np.linalg.lstsq(x.astype(np.float64), rgb.reshape(-1, 3).astype(np.float64), rcond=None)
    return m.astype(np.float32)


class LatentPreview:
    """Maps the loop's latents to a small RGB image; fitted lazily for one loaded pipeline."""

    def __init__(self, pipe: Any, kind: str, multiple: int) -> None:
        self.pipe, self.kind, self.multiple = pipe, kind, multiple
        self._map: np.ndarray | None = None
        self._palette: np.ndarray | None = None

    def _encode(self, chart: np.ndarray) -> Any:
        import torch

        vae = getattr(self.pipe, "vae", None) or self.pipe.vqvae
        param = next(vae.parameters())
        x = torch.from_numpy(chart).permute(2, 0, 1)[None].to(param.device, param.dtype) * 2 - 1
        with torch.inference_mode():
            if self.kind == "tokens":
                return vae.encode(x).latents.float()
            if self.kind == "packed":  # FLUX.2: patchified and batch-normalised, as its loop has them
                return self.pipe._encode_vae_image(x, generator=None).float()
            z = vae.encode(x).latent_dist.mode()
            shift = getattr(vae.config, "shift_factor", None) or 0.0
            scale = getattr(vae.config, "scaling_factor", None) or 1.0
            return ((z - shift) * scale).float()

    def fit(self) -> None:
        edge = _BLOCKS * _CELLS * self.multiple
        chart = _chart(edge)
        z = self._encode(chart)[0].cpu().numpy()
        self._map = _fit(z, _cells(chart, z.shape[1], z.shape[2]))
        if self.kind == "tokens":
            vae = self.pipe.vqvae
            codebook = vae.quantize.embedding.weight.detach().float().cpu().numpy()  # (K, C)
            palette = np.concatenate([codebook, np.ones((len(codebook), 1), np.float32)], axis=1) @ self._map
            self._palette = np.clip(palette, 0.0, 1.0).astype(np.float32)

    def __call__(self, latents: Any, height: int, width: int) -> np.ndarray:
        """RGB float (h, w, 3) of the first image in the batch; ``height×width`` is the output size."""
        if self._map is None:
            self.fit()
        assert self._map is not None
        x = latents[0].detach().float().cpu().numpy()
        if self.kind == "tokens":
            assert self._palette is not None
            ids = x.astype(np.int64)
            known = ids < len(self._palette)
            out = np.full((*ids.shape, 3), 0.5, np.float32)
            out[known] = self._palette[ids[known]]
            return out
        if self.kind == "packed":  # (h*w, C) -> (C, h, w)
            h, w = height // self.multiple, width // self.multiple
            x = x.T.reshape(-1, h, w)
        c = x.shape[0]
        flat = np.concatenate([x.reshape(c, -1).T, np.ones((x[0].size, 1), np.float32)], axis=1)
        return np.clip(flat @ self._map, 0.0, 1.0).reshape(x.shape[1], x.shape[2], 3).astype(np.float32)
