"""Fixed channels (paper IV-D): hold known channels (anatomy, or the CT for segmentation) through sampling.

Method: replacement of the x0 estimate. At every step the known channels of the denoiser's x0 estimate are set to
their known values. With DDIM (η = 0) this keeps the known channels of x_t exactly on the forward-noised path
√ᾱ_t·known + √(1−ᾱ_t)·ε (ε the initial noise of those channels), so the network always sees a correctly noised
copy of the known values, the other channels are generated consistently with them, and the final sample's known
channels equal the known values exactly.
"""

from __future__ import annotations

from typing import Callable

import torch


def with_fixed_channels(
    model: Callable[..., torch.Tensor], known: torch.Tensor, mask: torch.Tensor
) -> Callable[..., torch.Tensor]:
    """Wrap an x0 predictor so channels where `mask` (C,) is True return `known` (B, C, ...) values."""
    m = mask.to(known.device).view(1, -1, *([1] * (known.dim() - 2)))

    def model_fn(x, t, **extra):
        return torch.where(m, known.to(x.dtype), model(x, t, **extra))

    return model_fn
