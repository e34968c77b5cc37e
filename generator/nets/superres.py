"""The super-resolution model: a light 3D UNet with one attention block at the bottom and no text (paper IV-B2, IV-E).

Input: the noisy full-resolution volume (4 channels) concatenated with the nearest-up-sampled low-resolution
volume (4 channels). The condition is itself noised during training (noise augmentation, Ho et al. 2022 "Cascaded
diffusion models") and its noise level is embedded alongside the time, so the model tolerates the base model's
imperfect outputs. The bottom attention is axial along the last (cranio-caudal) axis, like the temporal attention
of video UNets the paper describes: it costs O(N·Z) instead of O(N²), which keeps 256³ volumes in one pass.
"""

from __future__ import annotations

import torch
from torch import nn

from generator.nets.blocks import Attention, ResBlock, TimeEmbedding
from generator.nets.unet3d import UNet3d


class AxialBottom(nn.Module):
    """ResBlock, attention along the Z axis only, ResBlock."""

    def __init__(self, channels: int, emb_dim: int, heads: int):
        super().__init__()
        self.res_in = ResBlock(channels, channels, emb_dim)
        self.attention = Attention(channels, heads)
        self.res_out = ResBlock(channels, channels, emb_dim)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.res_in(h, emb)
        b, c, x, y, z = h.shape
        columns = h.permute(0, 2, 3, 4, 1).reshape(b * x * y, z, c)  # one sequence per (x, y) column
        columns = self.attention(columns)
        h = columns.reshape(b, x, y, z, c).permute(0, 4, 1, 2, 3)
        return self.res_out(h, emb)


class SuperResUNet(nn.Module):
    """Network over the full-resolution volume given the up-sampled low-resolution one; its raw output is x0 or v as
    `config.prediction` says (`generator.diffusion.denoiser.Denoiser` turns it into x0)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        bottom = config.width * config.mults[-1]
        self.unet = UNet3d(
            2 * config.channels,
            config.channels,
            config.width,
            tuple(config.mults),
            config.res_blocks,
            AxialBottom(bottom, 4 * config.width, config.heads),
            time_features=config.time_features,
        )
        self.low_time = TimeEmbedding(config.time_features or config.width, 4 * config.width)

    def forward(self, x: torch.Tensor, t: torch.Tensor, low: torch.Tensor, low_t: torch.Tensor) -> torch.Tensor:
        """x, low (B, 4, X, Y, Z) (low: up-sampled condition, noised to time low_t (B,)), t (B,)."""
        emb = self.unet.time(t) + self.low_time(low_t)
        return self.unet.run(torch.cat([x, low.to(x.dtype)], 1), emb)
