"""Thresholding of the x0 estimate inside the sampler (Saharia et al. 2022, "Imagen", section 2.3), so that a high
guidance scale cannot push x̂0 outside the data's range [-1, 1] and feed the overshoot back into the next step.

Static: clip x̂0 to [-1, 1]. Dynamic: per sample, s = the `percentile` quantile of |x̂0| (at least 1); clip to
[−s, s] and divide by s.
"""

from __future__ import annotations

from typing import Callable

import torch

THRESHOLDS = ("none", "static", "dynamic")
PERCENTILE = 0.995  # Imagen's


def thresholded(
    model: Callable[..., torch.Tensor], kind: str, percentile: float = PERCENTILE
) -> Callable[..., torch.Tensor]:
    """Wrap an x0 predictor so that its estimate is thresholded (`kind`: none, static or dynamic)."""
    if kind not in THRESHOLDS:
        raise ValueError(f"thresholding {kind!r} is not one of {', '.join(THRESHOLDS)}")
    if kind == "none":
        return model

    def model_fn(x: torch.Tensor, t: torch.Tensor, **extra) -> torch.Tensor:
        x0 = model(x, t, **extra)
        if kind == "static":
            return x0.clamp(-1, 1)
        flat = x0.flatten(1).abs().float()
        # kthvalue instead of quantile: torch.quantile refuses tensors of more than 16 M elements (a 256³ volume)
        k = max(1, round(percentile * flat.shape[1]))
        s = flat.kthvalue(k, dim=1).values.clamp_min(1.0).to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
        return torch.maximum(torch.minimum(x0, s), -s) / s

    return model_fn
