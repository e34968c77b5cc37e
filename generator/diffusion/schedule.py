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


def sampling_times(steps: int, start: float = 1.0, rho: float = 1.0) -> torch.Tensor:
    """Sampler time grid from t = start (1: pure noise) down to t = 0 on the T discrete steps, shape (steps + 1,):
    t_i = start · (1 − i/steps)^rho, uniform for rho = 1; a larger rho spends the steps at low noise, as Karras et
    al. (2022) space theirs, so the last update starts close to the data and blurs less of its fine detail."""
    last = _last_step(start)
    if not 1 <= steps <= last:
        raise ValueError(f"the number of sampling steps must be between 1 and {last}, got {steps}")
    if rho <= 0:
        raise ValueError(f"the time spacing rho must be positive, got {rho}")
    grid = (torch.linspace(1, 0, steps + 1, dtype=torch.float64) ** rho * last).round()
    # rounding may merge the smallest times; keep the grid strictly decreasing down to 0
    for i in range(steps - 1, 0, -1):
        grid[i] = max(float(grid[i]), float(grid[i + 1]) + 1)
    if grid[0] <= grid[1]:
        raise ValueError(f"{steps} steps with rho {rho} do not fit in the {last} discrete steps below t = {start}")
    return (grid / T).float()


def _last_step(start: float) -> int:
    """The discrete step of a start time in (0, 1]."""
    if not 0 < start <= 1:
        raise ValueError(f"a start time must be in (0, 1], got {start}")
    return max(1, round(start * T))
