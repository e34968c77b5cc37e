"""DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): a second-order multistep sampler for an
x0-predicting denoiser, under the shared sampler signature of `generator.diffusion.ddim`.

With α = √ᾱ, σ = √(1 − ᾱ) and λ = log(α/σ), one step from t to t' with h = λ(t') − λ(t) is
    x' = (σ'/σ)·x + α'·(1 − e^(−h))·D,
where D is the x0 estimate (the first step and the last, into t = 0) or, from the second step on, the
extrapolation D = (1 + 1/(2r))·x̂0 − 1/(2r)·x̂0_prev with r = h_prev / h. With D = x̂0 this is exactly DDIM.
"""

from __future__ import annotations

from typing import Callable

import torch

from generator.diffusion.schedule import alpha_bar


@torch.no_grad()
def sample_dpmpp_2m(
    model: Callable[..., torch.Tensor],
    x: torch.Tensor,
    schedule: torch.Tensor,
    extra_args: dict | None = None,
    callback: Callable[[dict], None] | None = None,
) -> torch.Tensor:
    """Run DPM-Solver++(2M) from x at time schedule[0] to schedule[-1]; the final x0 estimate when it ends at 0."""
    extra_args = extra_args or {}
    batch = x.new_ones(x.shape[0])
    denoised, previous, h_previous = x, None, None
    for i in range(len(schedule) - 1):
        t, t_next = schedule[i], schedule[i + 1]
        denoised = model(x, t * batch, **extra_args)
        a, a_next = alpha_bar(t.double()), alpha_bar(t_next.double())
        alpha, sigma = a.sqrt(), (1 - a).sqrt().clamp_min(1e-12)
        alpha_next, sigma_next = a_next.sqrt(), (1 - a_next).sqrt()
        # e^(−h) = (α·σ')/(σ·α'): 0 both from pure noise (α = 0) and into t = 0 (σ' = 0), never infinite
        decay = alpha * sigma_next / (sigma * alpha_next.clamp_min(1e-12))
        h = torch.log(alpha_next * sigma / (alpha * sigma_next)) if float(decay) > 0 else None
        estimate = denoised
        if previous is not None and h is not None and h_previous is not None:
            ratio = float(h_previous / h)
            estimate = (1 + 1 / (2 * ratio)) * denoised - (1 / (2 * ratio)) * previous
        x = (sigma_next / sigma).to(x.dtype) * x + (alpha_next * (1 - decay)).to(x.dtype) * estimate
        previous, h_previous = denoised, h
        if callback is not None:
            callback({"i": i, "t": t, "x": x, "denoised": denoised})
    return denoised if float(schedule[-1]) == 0.0 else x
