"""Deterministic DDIM sampler (Song, Meng & Ermon 2021, eq. 12 with η = 0) for an x0-predicting denoiser.

Shared sampler signature, as in k-diffusion: `sampler(model, x, schedule, extra_args, callback)` where `model(x, t,
**extra_args)` predicts x0 and `schedule` is the descending time grid of `schedule.sampling_times`.
"""

from __future__ import annotations

from typing import Callable

import torch

from generator.diffusion.schedule import alpha_bar


@torch.no_grad()
def sample_ddim(
    model: Callable[..., torch.Tensor],
    x: torch.Tensor,
    schedule: torch.Tensor,
    extra_args: dict | None = None,
    callback: Callable[[dict], None] | None = None,
) -> torch.Tensor:
    """Run DDIM from x at time schedule[0] (pure noise when 1) to schedule[-1] and return the final x0 estimate."""
    extra_args = extra_args or {}
    batch = x.new_ones(x.shape[0])
    denoised = x
    for i in range(len(schedule) - 1):
        t, t_next = schedule[i], schedule[i + 1]
        denoised = model(x, t * batch, **extra_args)
        a, a_next = alpha_bar(t.double()), alpha_bar(t_next.double())
        # eq. 12: predicted noise ε̂ = (x_t − √ᾱ_t·x̂0)/√(1−ᾱ_t); x_{t−1} = √ᾱ_{t−1}·x̂0 + √(1−ᾱ_{t−1})·ε̂
        eps = (x - a.sqrt().to(x.dtype) * denoised) / (1 - a).sqrt().clamp_min(1e-12).to(x.dtype)
        x = a_next.sqrt().to(x.dtype) * denoised + (1 - a_next).sqrt().to(x.dtype) * eps
        if callback is not None:
            callback({"i": i, "t": t, "x": x, "denoised": denoised})
    return denoised if float(schedule[-1]) == 0.0 else x
