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
    n: int, generator: torch.Generator | None = None, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """n times drawn uniformly from the T discrete steps {1/T, ..., 1}, shape (n,)."""
    steps = torch.randint(1, T + 1, (n,), generator=generator)
    return (steps.float() / T).to(device)


def sampling_times(steps: int) -> torch.Tensor:
    """DDIM time grid from t = 1 down to t = 0 on the T discrete steps, shape (steps + 1,)."""
    if not 1 <= steps <= T:
        raise ValueError(f"the number of sampling steps must be between 1 and {T}, got {steps}")
    grid = torch.linspace(T, 0, steps + 1).round() / T
    return grid
