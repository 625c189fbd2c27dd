"""GRT ("GPT Studio Restoration Transformer"): a compact Restormer-style U-shaped Transformer.

Why this shape: the shipped model must denoise well *and* run fast on an ordinary CPU, and it
was trained on a 2-core CPU. So every stage works below full resolution: the image is
pixel-unshuffled by 2 on entry (four pixels become twelve channels), and the U goes down two more
levels (1/4, 1/8). Each level is a stack of Transformer blocks made of

* MDTA — multi-Dconv-head *transposed* attention (Restormer): attention across channels, not
  pixels, so its cost is linear in the image size and the network is fully convolutional;
* GDFN — a gated depthwise-conv feed-forward network, which gives the local spatial context that
  channel attention lacks.

A learned per-mode bias (``all``, ``jpeg``, ``deblur``, ``denoise``) is added to the embedding:
training showed the true damage type half of the time and ``all`` (blind) the other half, so
``all`` is a blind model and the other modes are hints. The network predicts a residual that is
added to the input, and any image size is accepted after padding to a multiple of 8.

With ``noise_level`` in the config the network also takes a noise level (FFDNet's idea, as a
vector rather than a map): σ in 8-bit levels, or "unknown". It is embedded by a small MLP and
added to the features at the start of every stage, so a user can push a noisy photo harder than
the blind estimate (or hold back on a clean one). The last layers start at zero, so weights
trained without it load unchanged and behave exactly as before until fine-tuned.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gptstudio.core.vocabulary import RESTORE_MODES

#: Mode index order: row ``i`` of ``mode_embed`` is the learnt bias of ``MODES[i]``. It is the task
#: vocabulary's tuple itself, so the CLI, the editor and the network cannot disagree.
MODES = RESTORE_MODES


@dataclass(frozen=True)
class GRTConfig:
    """Hyper-parameters of a GRT network; stored in the safetensors metadata and detected back."""

    width: int = 32
    enc_blocks: tuple[int, ...] = (2, 2)
    mid_blocks: int = 4
    dec_blocks: tuple[int, ...] = (2, 2)
    heads: tuple[int, ...] = (1, 2, 4)
    ffn_expansion: float = 2.0
    modes: int = len(MODES)
    noise_level: bool = False

    @property
    def levels(self) -> int:
        return len(self.enc_blocks) + 1

    @property
    def multiple_of(self) -> int:
        """Input sides must be a multiple of this (2 for the entry unshuffle, 2 per level down)."""
        return 2**self.levels

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class ChannelNorm(nn.Module):
    """LayerNorm over the channel axis of an NCHW tensor (Restormer's 'WithBias' LayerNorm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Permuting to NHWC lets the fused layer_norm kernel do the work (fast on CPU and GPU).
        y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, 1e-5)
        return y.permute(0, 3, 1, 2)


def box_sum(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Sums over every ``kh×kw`` window of the last two axes, at the window's centre.

    Integral images make it O(1) per value whatever the window. Pixels closer to the border than
    half a window take the nearest full window's sum (replicate padding), as in TLC (Chu et al.,
    "Improving image restoration by revisiting global information aggregation", 2022).
    """
    h, w = x.shape[-2:]
    kh, kw = min(kh, h), min(kw, w)
    c = F.pad(x.cumsum(-2), (0, 0, 1, 0))
    x = c[..., kh:, :] - c[..., :-kh, :]
    c = F.pad(x.cumsum(-1), (1, 0))
    x = c[..., kw:] - c[..., :-kw]
    lead = x.shape[:-2]
    x = x.reshape(1, -1, *x.shape[-2:])
    x = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2), mode="replicate")
    return x.reshape(*lead, h, w)


class MDTA(nn.Module):
    """Multi-Dconv-head transposed attention: a C×C attention map per head, linear in pixels.

    Trained with the statistics of the whole (small) training patch. At inference ``window`` may
    be set (in this level's pixels): every pixel then uses the attention map of the window around
    it (test-time local conversion), so the statistics match training and a pixel's output depends
    on its neighbourhood only, which makes tiled and untiled results agree.
    """

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels cannot be split into {heads} heads")
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(channels, channels * 3, 1, bias=False)
        self.qkv_dw = nn.Conv2d(channels * 3, channels * 3, 3, padding=1, groups=channels * 3, bias=False)
        self.proj = nn.Conv2d(channels, channels, 1, bias=False)
        self.window: int | None = None

    def cell(self) -> int:
        """Grid cell of the sliding-window attention, in this level's pixels (even, a third of it)."""
        return max(2, int(self.window or 0) // 3 // 2 * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dw(self.qkv(x)).chunk(3, dim=1)
        if self.window is not None and (h > self.window or w > self.window):
            return self.proj(self._local(q, k, v).to(x.dtype))
        q = F.normalize(q.reshape(b, self.heads, c // self.heads, h * w), dim=-1)
        k = F.normalize(k.reshape(b, self.heads, c // self.heads, h * w), dim=-1)
        v = v.reshape(b, self.heads, c // self.heads, h * w)
        attn = (q @ k.transpose(-2, -1)) * self.temperature
        out = attn.float().softmax(dim=-1).to(v.dtype) @ v
        return self.proj(out.reshape(b, c, h, w))

    def _local(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Attention with maps from a sliding window, computed on a coarse grid and interpolated.

        The window (``self.window`` pixels of this level) is three cells wide. Per cell, the Gram
        matrix q·kᵀ and the squared norms come from one batched matmul; windows of 3×3 cells are
        summed with integral images and turned into softmax maps at the cell centres. Each pixel
        then gets the bilinear blend of the four surrounding maps applied to its values, done as
        four batched matmuls on the grid shifted by half a cell. The result is smooth, depends only
        on the neighbourhood, and costs about as much as the 1×1 convolutions. The Gram matrices,
        norms and softmax run in fp32 (the maps are sensitive to rounding); the values and the four
        products run in the values' dtype, so a bf16 network applies its maps on the CPU's bf16
        units (1.17× faster on a 1024-px tile, 0.001 dB lower PSNR on CBSD68 at σ 25).
        """
        b, c, h, w = q.shape
        n, heads = c // self.heads, self.heads
        cell = self.cell()
        half = cell // 2
        hc, wc = -(-h // cell), -(-w // cell)

        def grid(
            t: torch.Tensor, top: int, bottom: int, left: int, right: int, dt: torch.dtype
        ) -> torch.Tensor:
            t = F.pad(t.to(dt), (left, right, top, bottom))
            gh, gw = t.shape[-2] // cell, t.shape[-1] // cell
            t = t.reshape(b, heads, n, gh, cell, gw, cell)
            return t.permute(0, 1, 3, 5, 2, 4, 6).reshape(b, heads, gh, gw, n, cell * cell)

        qc = grid(q, 0, hc * cell - h, 0, wc * cell - w, torch.float32)
        kc = grid(k, 0, hc * cell - h, 0, wc * cell - w, torch.float32)
        gram = box_sum((qc @ kc.transpose(-1, -2)).permute(0, 1, 4, 5, 2, 3), 3, 3)  # b,h,i,j,Y,X
        q_inv = box_sum((qc * qc).sum(-1).permute(0, 1, 4, 2, 3), 3, 3).clamp_min(1e-24).rsqrt()
        k_inv = box_sum((kc * kc).sum(-1).permute(0, 1, 4, 2, 3), 3, 3).clamp_min(1e-24).rsqrt()
        temp = self.temperature.float().reshape(1, heads, 1, 1, 1, 1)
        attn = (gram * q_inv[:, :, :, None] * k_inv[:, :, None] * temp).softmax(dim=3)
        # Maps at cell centres, one replicated cell around, as b,heads,Y,X,i,j.
        attn = F.pad(attn.reshape(b, heads * n * n, hc, wc), (1, 1, 1, 1), mode="replicate")
        attn = attn.reshape(b, heads, n, n, hc + 2, wc + 2).permute(0, 1, 4, 5, 2, 3).to(v.dtype)
        # Dual cells: each spans from one cell centre to the next; pixel t of it lies (t+0.5)/cell
        # of the way from the centre before to the centre after.
        vd = grid(v, half, (hc + 1) * cell - h - half, half, (wc + 1) * cell - w - half, v.dtype)
        ramp = (torch.arange(cell, dtype=torch.float32, device=v.device) + 0.5) / cell
        weights = (1 - ramp, ramp)
        out = torch.zeros_like(vd)
        for a in (0, 1):
            for e in (0, 1):
                amap = attn[:, :, a : a + hc + 1, e : e + wc + 1]
                wgt = (weights[a][:, None] * weights[e][None, :]).reshape(cell * cell).to(v.dtype)
                out += (amap @ vd).mul_(wgt)
        out = out.reshape(b, heads, hc + 1, wc + 1, n, cell, cell).permute(0, 1, 4, 2, 5, 3, 6)
        out = out.reshape(b, c, (hc + 1) * cell, (wc + 1) * cell)
        return out[:, :, half : half + h, half : half + w]


class GDFN(nn.Module):
    """Gated depthwise-conv feed-forward network: local context plus a multiplicative gate."""

    def __init__(self, channels: int, expansion: float) -> None:
        super().__init__()
        hidden = round(channels * expansion)
        self.proj_in = nn.Conv2d(channels, hidden * 2, 1, bias=False)
        self.dw = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=False)
        self.proj_out = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, g = self.dw(self.proj_in(x)).chunk(2, dim=1)
        return self.proj_out(F.gelu(g) * a)


class Block(nn.Module):
    """Pre-norm Transformer block: x + MDTA(norm(x)), then x + GDFN(norm(x))."""

    def __init__(self, channels: int, heads: int, expansion: float) -> None:
        super().__init__()
        self.norm1 = ChannelNorm(channels)
        self.attn = MDTA(channels, heads)
        self.norm2 = ChannelNorm(channels)
        self.ffn = GDFN(channels, expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


def _stage(channels: int, count: int, heads: int, expansion: float) -> nn.Sequential:
    return nn.Sequential(*[Block(channels, heads, expansion) for _ in range(count)])


class Down(nn.Module):
    """Halve the resolution and double the channels (conv to C/2, then pixel-unshuffle by 2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels // 2, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle(self.conv(x), 2)


class Up(nn.Module):
    """Double the resolution and halve the channels (conv to 2C, then pixel-shuffle by 2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * 2, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)


#: The noise level is fed as σ / NOISE_SCALE (8-bit levels), so the usual 0-75 range is about 0-1.5.
NOISE_SCALE = 50.0


def noise_input(noise: torch.Tensor | float | None, batch: int, device: torch.device) -> torch.Tensor:
    """The (σ / NOISE_SCALE, known) pairs the noise embedding takes; ``None`` or σ < 0 is unknown."""
    if noise is None:
        sigma = torch.full((batch,), -1.0, device=device)
    elif isinstance(noise, torch.Tensor):
        sigma = noise.to(device=device, dtype=torch.float32).reshape(-1).expand(batch)
    else:
        sigma = torch.full((batch,), float(noise), device=device)
    known = (sigma >= 0).float()
    return torch.stack([sigma.clamp_min(0) / NOISE_SCALE, known], dim=1)


class GRT(nn.Module):
    """The network: ``forward(x, mode, noise)`` maps a 0..1 RGB batch to its restored version."""

    def __init__(self, config: GRTConfig | None = None) -> None:
        super().__init__()
        cfg = config or GRTConfig()
        if len(cfg.dec_blocks) != len(cfg.enc_blocks) or len(cfg.heads) != cfg.levels:
            raise ValueError("GRTConfig needs a decoder stage per encoder stage and a head count per level")
        self.config = cfg
        w = cfg.width
        self.embed = nn.Conv2d(12, w, 3, padding=1)
        self.mode_embed = nn.Embedding(cfg.modes, w)
        nn.init.zeros_(self.mode_embed.weight)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        ch = w
        for i, n in enumerate(cfg.enc_blocks):
            self.encoders.append(_stage(ch, n, cfg.heads[i], cfg.ffn_expansion))
            self.downs.append(Down(ch))
            ch *= 2
        self.middle = _stage(ch, cfg.mid_blocks, cfg.heads[-1], cfg.ffn_expansion)
        self.ups = nn.ModuleList()
        self.fuses = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for i in reversed(range(len(cfg.enc_blocks))):
            self.ups.append(Up(ch))
            ch //= 2
            self.fuses.append(nn.Conv2d(ch * 2, ch, 1, bias=False))
            self.decoders.append(_stage(ch, cfg.dec_blocks[i], cfg.heads[i], cfg.ffn_expansion))
        self.out = nn.Conv2d(w, 12, 3, padding=1)
        if cfg.noise_level:
            self.noise_embed = nn.Sequential(nn.Linear(2, w), nn.SiLU(), nn.Linear(w, w), nn.SiLU())
            # One projection per stage: encoders, middle, decoders (shallow to deep to shallow).
            widths = [w * 2**i for i in range(len(cfg.enc_blocks))]
            widths += [w * 2 ** len(cfg.enc_blocks), *reversed(widths)]
            self.noise_proj = nn.ModuleList(nn.Linear(w, c) for c in widths)
            for proj in self.noise_proj:
                nn.init.zeros_(proj.weight)
                nn.init.zeros_(proj.bias)

    def set_attention_window(self, pixels: int | None) -> None:
        """Use sliding-window attention statistics of ``pixels`` (full-resolution) at inference.

        ``None`` restores whole-input statistics (what training uses). Each level gets the window
        scaled to its resolution, so every level sees the same patch of the photo.
        """
        for stage, level in self._levels():
            for block in stage:
                block.attn.window = None if pixels is None else max(1, pixels >> (level + 1))

    def alignment(self) -> int:
        """Full-resolution period of the attention grids: crops that start on a multiple of it
        see the same grids, so their outputs match the whole image's away from the crop edges."""
        period = self.config.multiple_of
        for stage, level in self._levels():
            for block in stage:
                if block.attn.window is not None:
                    period = math.lcm(period, block.attn.cell() << (level + 1))
        return period

    def _levels(self) -> list[tuple[nn.Sequential, int]]:
        levels = [(enc, i) for i, enc in enumerate(self.encoders)]
        levels += [(dec, len(self.decoders) - 1 - i) for i, dec in enumerate(self.decoders)]
        levels.append((self.middle, len(self.encoders)))
        return levels

    def forward(
        self, x: torch.Tensor, mode: torch.Tensor | int = 0, noise: torch.Tensor | float | None = None
    ) -> torch.Tensor:
        """``x``: N×3×H×W in 0..1, H and W multiples of ``config.multiple_of``; ``mode``: index in
        MODES; ``noise``: σ in 8-bit levels per image (negative or ``None``: unknown, blind), used
        only by networks built with ``noise_level``."""
        m = self.config.multiple_of
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(f"GRT needs sides that are multiples of {m}, not {tuple(x.shape[-2:])}")
        if not isinstance(mode, torch.Tensor):
            mode = torch.full((x.shape[0],), int(mode), dtype=torch.long, device=x.device)
        # The body runs in the weights' dtype (bf16 on CPUs with bf16 units); the input and the
        # residual sum stay in x's dtype (fp32), so bf16 rounding never reaches the clean pixels.
        feat = self.embed(F.pixel_unshuffle(x, 2).to(self.embed.weight.dtype))
        feat = feat + self.mode_embed(mode).to(feat.dtype)[:, :, None, None]
        biases = iter(self._noise_biases(noise, x.shape[0], x.device, feat.dtype))
        skips = []
        for enc, down in zip(self.encoders, self.downs, strict=True):
            feat = enc(feat + next(biases))
            skips.append(feat)
            feat = down(feat)
        feat = self.middle(feat + next(biases))
        for up, fuse, dec in zip(self.ups, self.fuses, self.decoders, strict=True):
            feat = fuse(torch.cat([up(feat), skips.pop()], dim=1))
            feat = dec(feat + next(biases))
        return x + F.pixel_shuffle(self.out(feat), 2).to(x.dtype)

    def _noise_biases(
        self, noise: torch.Tensor | float | None, batch: int, device: torch.device, dtype: torch.dtype
    ) -> list[torch.Tensor | float]:
        """Per-stage N×C×1×1 biases from the noise level (zeros for a network without the input)."""
        stages = 2 * len(self.encoders) + 1
        if not self.config.noise_level:
            return [0.0] * stages
        e = self.noise_embed(noise_input(noise, batch, device).to(self.noise_proj[0].weight.dtype))
        return [proj(e).to(dtype)[:, :, None, None] for proj in self.noise_proj]
