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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Mode index order; it matches ``gptstudio.engines.base.RESTORE_MODES``.
MODES = ("all", "jpeg", "deblur", "denoise")


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

    @property
    def levels(self) -> int:
        return len(self.enc_blocks) + 1

    @property
    def multiple_of(self) -> int:
        """Input sides must be a multiple of this (2 for the entry unshuffle, 2 per level down)."""
        return 2 ** self.levels

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


class MDTA(nn.Module):
    """Multi-Dconv-head transposed attention: a C×C attention map per head, linear in pixels."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels cannot be split into {heads} heads")
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(channels, channels * 3, 1, bias=False)
        self.qkv_dw = nn.Conv2d(channels * 3, channels * 3, 3, padding=1, groups=channels * 3, bias=False)
        self.proj = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dw(self.qkv(x)).chunk(3, dim=1)
        q = F.normalize(q.reshape(b, self.heads, c // self.heads, h * w), dim=-1)
        k = F.normalize(k.reshape(b, self.heads, c // self.heads, h * w), dim=-1)
        v = v.reshape(b, self.heads, c // self.heads, h * w)
        attn = (q @ k.transpose(-2, -1)) * self.temperature
        out = attn.float().softmax(dim=-1).to(v.dtype) @ v
        return self.proj(out.reshape(b, c, h, w))


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


class GRT(nn.Module):
    """The network: ``forward(x, mode)`` maps a 0..1 RGB batch to its restored version."""

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

    def forward(self, x: torch.Tensor, mode: torch.Tensor | int = 0) -> torch.Tensor:
        """``x``: N×3×H×W in 0..1, H and W multiples of ``config.multiple_of``; ``mode``: index in MODES."""
        m = self.config.multiple_of
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(f"GRT needs sides that are multiples of {m}, not {tuple(x.shape[-2:])}")
        if not isinstance(mode, torch.Tensor):
            mode = torch.full((x.shape[0],), int(mode), dtype=torch.long, device=x.device)
        feat = self.embed(F.pixel_unshuffle(x, 2))
        feat = feat + self.mode_embed(mode).to(feat.dtype)[:, :, None, None]
        skips = []
        for enc, down in zip(self.encoders, self.downs, strict=True):
            feat = enc(feat)
            skips.append(feat)
            feat = down(feat)
        feat = self.middle(feat)
        for up, fuse, dec in zip(self.ups, self.fuses, self.decoders, strict=True):
            feat = fuse(torch.cat([up(feat), skips.pop()], dim=1))
            feat = dec(feat)
        return x + F.pixel_shuffle(self.out(feat), 2)
