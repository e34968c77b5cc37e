"""Continuous cosine noise schedule (Nichol & Dhariwal 2021, "Improved DDPM", eq. 17), T = 1000.

Time is continuous, t in [0, 1]; the discrete step i of T corresponds to t = i / T.
"""

from __future__ import annotations

import math

import torch

T = 1000
OFFSET = 0.008  # s in Nichol & Dhariwal eq. 17: keeps beta small near t = 0


def alpha_bar(t: torch.Tensor) -> torch.Tensor:
    """Signal fraction ᾱ(t) = f(t)/f(0), f(t) = cos²((t + s)/(1 + s) · π/2); 1 at t = 0, 0 at t = 1."""
    f = torch.cos((t.double() + OFFSET) / (1 + OFFSET) * math.pi / 2) ** 2
    f0 = math.cos(OFFSET / (1 + OFFSET) * math.pi / 2) ** 2
    return (f / f0).clamp(0.0, 1.0).to(t.dtype if t.is_floating_point() else torch.float32)


def training_times(
    n: int, generator: torch.Generator | None = None, device: str | torch.device = "cpu", start: float = 1.0
) -> torch.Tensor:
    """n times drawn uniformly from the discrete steps {1/T, ..., start} (start 1: all T), shape (n,)."""
    steps = torch.randint(1, _last_step(start) + 1, (n,), generator=generator)
    return (steps.float() / T).to(device)


def sampling_times(steps: int, start: float = 1.0) -> torch.Tensor:
    """Sampler time grid from t = start (1: pure noise) down to t = 0 on the T discrete steps, shape (steps + 1,)."""
    last = _last_step(start)
    if not 1 <= steps <= last:
        raise ValueError(f"the number of sampling steps must be between 1 and {last}, got {steps}")
    return torch.linspace(last, 0, steps + 1).round() / T


def _last_step(start: float) -> int:
    """The discrete step of a start time in (0, 1]."""
    if not 0 < start <= 1:
        raise ValueError(f"a start time must be in (0, 1], got {start}")
    return max(1, round(start * T))
