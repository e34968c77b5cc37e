"""The denoiser owns the parameterisation (as in k-diffusion): it turns a network's raw output into x0, and computes
the training loss (paper eq. 5, 9, 10).

A network's raw output is either x0 itself (the paper's parameterisation) or v (Salimans & Ho 2022, "Progressive
distillation", section 4), from which x0 = √ᾱ·x_t − √(1−ᾱ)·v. With data of unit scale the latter is Karras et al.'s
(2022, "EDM") preconditioning: a skip path carries x_t, so at low noise even an untrained network returns a nearly
clean volume, and the network only learns the correction. The networks in `generator.nets` know nothing of this;
everything outside them sees x0 through a `Denoiser`.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _x0_of_x0(x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    return output


def _x0_of_v(x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    a = _per_sample(alpha_bar(t), x_t)
    return a.sqrt() * x_t - (1 - a).sqrt() * output


PARAMETERISATIONS = {"x0": _x0_of_x0, "v": _x0_of_v}


def x0_from_output(prediction: str, x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """The x0 estimate of a network whose raw output is `prediction` ("x0" or "v") at x_t and times t (B,)."""
    return PARAMETERISATIONS[prediction](x_t, t, output)


@dataclass(frozen=True)
class LossWeights:
    """How the squared error is weighted: per channel (ct, lobes, airway, vessels), and an extra term (weight
    `soft_tissue`) on the CT voxels whose truth lies in `window` (model units; the soft-tissue window W400/L40 in
    training), measured in that window's units, so that fluid against soft tissue (≈ 40 HU) weighs in the loss as
    a 160 HU error would in the full 1,624 HU window.

    A weight that depends on the truth's value moves the loss's optimum away from the posterior mean E[x0 | x_t]
    towards the values it weighs: at high noise, where a voxel may be lung or fluid, a 17× weight on soft tissue
    made the base model predict tissue throughout the lungs and sample chests without lungs (README). The bias is
    proportional to the posterior's spread, so `soft_tissue_until` keeps the term to low noise levels (t ≤ 0.1 in
    the configs), where the posterior is nearly a point and the term only sharpens the HU of what is there."""

    channels: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    soft_tissue: float = 0.0
    window: tuple[float, float] = (-1.0, 1.0)
    soft_tissue_until: float = 1.0  # the term applies to samples with t ≤ this only


class Denoiser(nn.Module):
    """`denoiser(x_t, t, **cond)` is the x0 estimate of a network whose raw output is `prediction`;
    `denoiser.loss(x0, t, noise, **cond)` its training loss."""

    def __init__(self, net: nn.Module, prediction: str = "x0", weights: LossWeights | None = None):
        super().__init__()
        if prediction not in PARAMETERISATIONS:
            raise ValueError(f"prediction {prediction!r} is not one of {tuple(PARAMETERISATIONS)}")
        self.net = net
        self.prediction = prediction
        self.weights = weights or LossWeights()

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, **cond) -> torch.Tensor:
        return x0_from_output(self.prediction, x_t, t, self.net(x_t, t, **cond))

    def loss(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, present: torch.Tensor | None = None, **cond
    ) -> torch.Tensor:
        """Weighted mean squared error ‖D(x_t, c) − x0‖² (paper eq. 9/10); t has shape (B,).

        `present` (B, C) bool leaves out the channels a case does not have (their error counts 0 and they do not
        enter the mean). For a v-predicting network each sample's error is divided by 1 − ᾱ(t), which makes it the
        error of v itself: (D − x0)² = (1 − ᾱ)·(v̂ − v)², so every noise level trains the network's output equally.
        With the default weights and every channel present this is the plain mean over voxels and channels."""
        estimate = self(add_noise(x0, t, noise), t, **cond).float()
        error = (estimate - x0.float()) ** 2
        if self.prediction == "v":
            error = error / _per_sample(1 - alpha_bar(t).float(), error)
        per_channel = error.flatten(2).mean(2)  # (B, C)
        if self.weights.soft_tissue:
            per_channel = per_channel.clone()
            window_error = _window_error(error[:, 0], x0[:, 0].float(), self.weights.window)
            applies = (t <= self.weights.soft_tissue_until).to(window_error.device, window_error.dtype)
            per_channel[:, 0] += self.weights.soft_tissue * window_error * applies
        weight = torch.tensor(self.weights.channels, device=error.device, dtype=error.dtype).expand_as(per_channel)
        if present is not None:
            weight = weight * present.to(error.device, error.dtype)
        return (per_channel * weight).sum() / weight.sum().clamp_min(1e-12)


def _window_error(ct_error: torch.Tensor, ct_truth: torch.Tensor, window: tuple[float, float]) -> torch.Tensor:
    """Per sample: the mean CT squared error over voxels whose truth is inside `window` (model units), rescaled to
    that window's units, where the whole model range [-1, 1] is 2 wide (0 for a sample without such voxels)."""
    low, high = window
    inside = ((ct_truth >= low) & (ct_truth <= high)).to(ct_error.dtype)
    scale = (2.0 / (high - low)) ** 2
    return scale * (ct_error * inside).flatten(1).sum(1) / inside.flatten(1).sum(1).clamp_min(1.0)


class TrainingLoss(nn.Module):
    """The loss as a module's forward, so that DistributedDataParallel's gradient hooks see the network call."""

    def __init__(self, denoiser: Denoiser):
        super().__init__()
        self.denoiser = denoiser

    def forward(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, **cond) -> torch.Tensor:
        return self.denoiser.loss(x0, t, noise, **cond)
