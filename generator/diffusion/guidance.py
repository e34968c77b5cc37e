"""Classifier-free guidance (Ho & Salimans 2022): x̂ = x̂_uncond + w·(x̂_cond − x̂_uncond), both in one batch."""

from __future__ import annotations

from typing import Callable

import torch


def guided(model: Callable[..., torch.Tensor], scale: float) -> Callable[..., torch.Tensor]:
    """Wrap `model(x, t, context, context_mask)` so that it also takes `uncond_context`/`uncond_mask` and guides.

    The conditional and unconditional evaluations share one doubled batch; scale 1 is the conditional prediction
    alone (evaluated without the unconditional half).
    """

    def model_fn(x, t, context, context_mask, uncond_context, uncond_mask, **extra):
        if scale == 1.0:
            return model(x, t, context=context, context_mask=context_mask, **extra)
        both = model(
            torch.cat([x, x]),
            torch.cat([t, t]),
            context=torch.cat([context, uncond_context]),
            context_mask=torch.cat([context_mask, uncond_mask]),
            **{k: torch.cat([v, v]) for k, v in extra.items()},
        )
        cond, uncond = both.chunk(2)
        return uncond + scale * (cond - uncond)

    return model_fn
