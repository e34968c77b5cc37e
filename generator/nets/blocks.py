"""Building blocks shared by the base and super-resolution 3D UNets. Tensors are (B, C, X, Y, Z) unless stated."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

TIME_SCALE = 1000  # times t in [0, 1] are embedded as t·1000, the discrete step of the schedule's T = 1000


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with the largest of 32, 16, 8, 4, 2, 1 groups that divides `channels`."""
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def time_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features (Vaswani et al. 2017) of the diffusion step t·TIME_SCALE, shape (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = (t.float() * TIME_SCALE)[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class TimeEmbedding(nn.Module):
    """MLP over sinusoidal features of a time in [0, 1]: (B,) -> (B, dim)."""

    def __init__(self, base: int, dim: int):
        super().__init__()
        self.base = base
        self.mlp = nn.Sequential(nn.Linear(base, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(time_features(t, self.base))


class ResBlock(nn.Module):
    """Two 3×3×3 convolutions with GroupNorm/SiLU, time-conditioned scale and shift, and a residual path."""

    def __init__(self, channels_in: int, channels_out: int, emb_dim: int):
        super().__init__()
        self.norm1 = group_norm(channels_in)
        self.conv1 = nn.Conv3d(channels_in, channels_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * channels_out)
        self.norm2 = group_norm(channels_out)
        self.conv2 = nn.Conv3d(channels_out, channels_out, 3, padding=1)
        self.skip = nn.Conv3d(channels_in, channels_out, 1) if channels_in != channels_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class Attention(nn.Module):
    """Multi-head attention of (B, N, C) queries over (B, M, D) keys/values, optional (B, M) bool key mask."""

    def __init__(self, channels: int, heads: int, context_dim: int | None = None):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(channels)
        self.q = nn.Linear(channels, channels, bias=False)
        self.kv = nn.Linear(context_dim or channels, 2 * channels, bias=False)
        self.out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None):
        h = self.norm(x)
        k, v = self.kv(h if context is None else context.to(h.dtype)).chunk(2, dim=-1)
        q = self.q(h)

        def split(a: torch.Tensor) -> torch.Tensor:
            return a.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # (B, heads, N, C/heads)

        attn_mask = None if mask is None else mask[:, None, None, :]
        o = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=attn_mask)
        return x + self.out(o.transpose(1, 2).flatten(2))


class FeedForward(nn.Module):
    """Pre-norm GELU MLP with 4× expansion and a residual path, on (B, N, C)."""

    def __init__(self, channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(channels), nn.Linear(channels, 4 * channels), nn.GELU(), nn.Linear(4 * channels, channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class Downsample(nn.Module):
    """Halve every spatial size (or only x and y, `in_plane`) with a stride-2 3×3×3 convolution."""

    def __init__(self, channels: int, in_plane: bool = False):
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, 3, stride=(2, 2, 1) if in_plane else 2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Double every spatial size (or only x and y, `in_plane`) by nearest-neighbour repetition, then a 3×3×3
    convolution."""

    def __init__(self, channels: int, in_plane: bool = False):
        super().__init__()
        self.scale = (2.0, 2.0, 1.0) if in_plane else 2.0
        self.conv = nn.Conv3d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.scale, mode="nearest"))
