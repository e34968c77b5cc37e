"""The denoiser wraps a network that predicts x0 from x_t and owns the training loss (paper eq. 5, 9, 10).

A network's raw output is either x0 itself (the paper's parameterisation) or v (Salimans & Ho 2022, "Progressive
distillation", section 4), from which x0 = √ᾱ·x_t − √(1−ᾱ)·v. With data of unit scale the latter is Karras et al.'s
(2022, "EDM") preconditioning: a skip path carries x_t, so at low noise even an untrained network returns a nearly
clean volume, and the network only learns the correction. Everything outside the networks sees x0 either way.
"""

from __future__ import annotations

import torch
from torch import nn

from generator.diffusion.schedule import alpha_bar


def add_noise(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Forward process q(x_t | x0) (paper eq. 1): √ᾱ(t)·x0 + √(1−ᾱ(t))·noise; t has shape (B,)."""
    a = _per_sample(alpha_bar(t), x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-sample values (B,) shaped and typed to broadcast over a batch like `like` (B, C, ...)."""
    return values.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


PREDICTIONS = ("x0", "v")


def x0_from_output(prediction: str, x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """The x0 estimate of a network whose raw output is `prediction` ("x0" or "v") at x_t and times t (B,)."""
    if prediction == "x0":
        return output
    a = _per_sample(alpha_bar(t), x_t)
    return a.sqrt() * x_t - (1 - a).sqrt() * output


class Denoiser(nn.Module):
    """Training objective of an x0-predicting network: `denoiser(x0, t, noise, **cond)` is the loss.

    The loss is the module's forward so that DistributedDataParallel's gradient hooks see the network call.
    """

    def __init__(self, net: nn.Module, prediction: str = "x0"):
        super().__init__()
        self.net = net
        self.prediction = prediction

    def forward(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, **cond) -> torch.Tensor:
        """Mean squared error ‖G(x_t, c) − x0‖² over all voxels and channels (paper eq. 9/10); t has shape (B,).

        For a v-predicting network each sample's error is divided by 1 − ᾱ(t), which makes it the error of v
        itself: (G − x0)² = (1 − ᾱ)·(v̂ − v)², so every noise level trains the network's output equally."""
        error = (self.net(add_noise(x0, t, noise), t, **cond).float() - x0.float()) ** 2
        if self.prediction == "v":
            error = error / _per_sample(1 - alpha_bar(t).float(), error)
        return torch.mean(error)
