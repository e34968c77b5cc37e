"""The denoiser wraps a network that predicts x0 from x_t and owns the training loss (paper eq. 5, 9, 10)."""
from __future__ import annotations

import torch
from torch import nn

from generator.diffusion.schedule import alpha_bar


def add_noise(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Forward process q(x_t | x0) (paper eq. 1): √ᾱ(t)·x0 + √(1−ᾱ(t))·noise; t has shape (B,)."""
    a = alpha_bar(t).to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


class Denoiser(nn.Module):
    """Training objective of an x0-predicting network: `denoiser(x0, t, noise, **cond)` is the loss.

    The loss is the module's forward so that DistributedDataParallel's gradient hooks see the network call.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, **cond) -> torch.Tensor:
        """Mean squared error ‖G(x_t, c) − x0‖² over all voxels and channels (paper eq. 9/10); t has shape (B,)."""
        prediction = self.net(add_noise(x0, t, noise), t, **cond)
        return torch.mean((prediction.float() - x0.float()) ** 2)
