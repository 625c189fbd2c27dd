"""GIT ("GPT Studio Inpainting Transformer"): an encoder–decoder Transformer that fills a hole.

Why this shape: a fill must bring texture and structure from anywhere in the picture, which
channel attention (GRT's MDTA) cannot do: it has no notion of *where*. So the coarsest level
(1/16 of the working size) is a stack of Transformer blocks with true *spatial* self-attention
over every token of the grid — at 512 px that is 32×32 = 1,024 tokens, cheap enough for a CPU —
with a depthwise-conv position encoding (CPVT) instead of a fixed table, so the network stays
fully convolutional and takes any size that is a multiple of 16. The finer levels (1/2 … 1/8)
are cheap local blocks made of GRT's own parts (channel norm plus the gated depthwise-conv
feed-forward network, and GRT's MDTA block at 1/8), joined to the decoder by skip connections.

Input: the image with the hole blanked (3 channels), the hole (1 = fill) and a noise channel
inside the hole (standard normal, drawn from the job's seed), so different seeds give different
fills where the surroundings leave the content open. Output: the whole RGB picture; the task
keeps only the hole (through a feathered mask). Weights start so that the output is the blanked
input, so an untrained network is harmless.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gptstudio.engines.native.arch import GDFN, Block, ChannelNorm, Down, Up

#: Input channels: RGB with the hole blanked, the hole, and the noise inside the hole.
IN_CHANNELS = 5


@dataclass(frozen=True)
class GITConfig:
    """Hyper-parameters of a GIT network; stored in the safetensors metadata and detected back."""

    width: int = 32
    #: Local blocks per level at 1/2, 1/4 and 1/8 (the encoder; the decoder mirrors it).
    local_blocks: tuple[int, ...] = (1, 2, 2)
    global_blocks: int = 4
    global_heads: int = 4
    ffn_expansion: float = 2.0

    @property
    def levels(self) -> int:
        return len(self.local_blocks)

    @property
    def multiple_of(self) -> int:
        """Input sides must be a multiple of this (2 for the entry unshuffle, 2 per level down)."""
        return 2 ** (self.levels + 1)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class LocalBlock(nn.Module):
    """x + GDFN(norm(x)): GRT's gated depthwise-conv feed-forward network as a cheap local block."""

    def __init__(self, channels: int, expansion: float) -> None:
        super().__init__()
        self.norm = ChannelNorm(channels)
        self.ffn = GDFN(channels, expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.ffn(self.norm(x))


class GlobalAttention(nn.Module):
    """Multi-head self-attention over every position of an NCHW map (PyTorch's fused SDPA)."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels cannot be split into {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(channels, channels * 3)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # N×HW×C
        q, k, v = self.qkv(tokens).reshape(n, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # N×heads×HW×C/heads
        out = self.proj(out.transpose(1, 2).reshape(n, h * w, c))
        return out.transpose(1, 2).reshape(n, c, h, w)


class GlobalBlock(nn.Module):
    """Position encoding by a depthwise conv, then x + attention(norm(x)), then x + GDFN(norm(x))."""

    def __init__(self, channels: int, heads: int, expansion: float) -> None:
        super().__init__()
        self.pos = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.norm1 = ChannelNorm(channels)
        self.attn = GlobalAttention(channels, heads)
        self.norm2 = ChannelNorm(channels)
        self.ffn = GDFN(channels, expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos(x)
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


def _local_stage(channels: int, count: int, expansion: float, *, attention: bool) -> nn.Sequential:
    if attention:  # GRT's channel-attention block: cheap, and it sees the whole crop's statistics
        return nn.Sequential(*[Block(channels, max(1, channels // 32), expansion) for _ in range(count)])
    return nn.Sequential(*[LocalBlock(channels, expansion) for _ in range(count)])


class GIT(nn.Module):
    """``forward(image, hole, noise)`` -> the filled picture (N×3×H×W, 0..1).

    ``image`` is N×3×H×W in 0..1 (the hole's pixels are ignored), ``hole`` N×1×H×W (1 = fill),
    ``noise`` N×1×H×W or None (zeros: the network's most likely fill).
    """

    def __init__(self, config: GITConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or GITConfig()
        c, e = config.width, config.ffn_expansion
        self.embed = nn.Conv2d(IN_CHANNELS * 4, c, 3, padding=1)
        widths = [c * 2**i for i in range(config.levels + 1)]
        last = config.levels - 1
        self.encoders = nn.ModuleList(
            _local_stage(widths[i], n, e, attention=i == last) for i, n in enumerate(config.local_blocks)
        )
        self.downs = nn.ModuleList(Down(widths[i]) for i in range(config.levels))
        self.middle = nn.Sequential(
            *[GlobalBlock(widths[-1], config.global_heads, e) for _ in range(config.global_blocks)]
        )
        self.ups = nn.ModuleList(Up(widths[i + 1]) for i in reversed(range(config.levels)))
        self.fuse = nn.ModuleList(
            nn.Conv2d(widths[i] * 2, widths[i], 1) for i in reversed(range(config.levels))
        )
        self.decoders = nn.ModuleList(
            _local_stage(widths[i], config.local_blocks[i], e, attention=i == last)
            for i in reversed(range(config.levels))
        )
        self.out = nn.Conv2d(c, 12, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def alignment(self) -> int:
        return self.config.multiple_of

    def forward(
        self, image: torch.Tensor, hole: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        m = self.config.multiple_of
        if image.shape[-2] % m or image.shape[-1] % m:
            raise ValueError(f"GIT needs sides that are a multiple of {m}, got {tuple(image.shape[-2:])}")
        hole = hole.to(image.dtype)
        known = image * (1.0 - hole)
        if noise is None:
            noise = torch.zeros_like(hole)
        # The input and the final sum stay in the caller's dtype (fp32); the network runs in its
        # weights' dtype (bf16 on CPUs with bf16 units), so a bf16 network keeps the known pixels exact.
        x = torch.cat([known - 0.5, hole, noise.to(image.dtype) * hole], dim=1)
        x = self.embed(F.pixel_unshuffle(x, 2).to(self.embed.weight.dtype))
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for up, fuse, decoder in zip(self.ups, self.fuse, self.decoders, strict=True):
            x = decoder(fuse(torch.cat([up(x), skips.pop()], dim=1)))
        return known + F.pixel_shuffle(self.out(x), 2).to(known.dtype)


class PatchDiscriminator(nn.Module):
    """A PatchGAN critic with spectral-normalised convolutions (training only, never shipped).

    It sees the picture and the hole and scores overlapping patches (about 70 px receptive field),
    so it judges texture where the L1 loss can only ask for the average.
    """

    def __init__(self, width: int = 48) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        w = width
        self.layers = nn.ModuleList(
            [
                sn(nn.Conv2d(4, w, 4, stride=2, padding=1)),
                sn(nn.Conv2d(w, w * 2, 4, stride=2, padding=1)),
                sn(nn.Conv2d(w * 2, w * 4, 4, stride=2, padding=1)),
                sn(nn.Conv2d(w * 4, w * 4, 3, padding=1)),
            ]
        )
        self.head = sn(nn.Conv2d(w * 4, 1, 3, padding=1))

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Patch scores and the intermediate features (for feature matching)."""
        x = torch.cat([image * 2.0 - 1.0, hole.to(image.dtype)], dim=1)
        feats = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
            feats.append(x)
        return self.head(x), feats
