"""Overlapping-tile evaluation of a denoiser, for full-resolution volumes too large for one pass.

At every sampling step the x0 estimate is computed tile by tile and blended with weights that ramp linearly
across the overlaps (as in MultiDiffusion, Bar-Tal et al. 2023), so neighbouring tiles agree and no seam is left.
"""

from __future__ import annotations

from typing import Callable

import torch


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length `tile` covering [0, size) with at least `overlap` shared voxels."""
    if tile >= size:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"the tile overlap must be between 0 and the tile size {tile}, got {overlap}")
    starts = list(range(0, size - tile, tile - overlap))
    return starts + [size - tile]


def ramp(length: int, overlap: int) -> torch.Tensor:
    """1-D blending weights: rising linearly over the first and last `overlap` voxels, 1 inside."""
    weight = torch.ones(length)
    if overlap:
        edge = torch.arange(1, overlap + 1, dtype=torch.float32) / (overlap + 1)
        weight[:overlap], weight[-overlap:] = edge, edge.flip(0)
    return weight


def tiled(model: Callable[..., torch.Tensor], tile: int, overlap: int) -> Callable[..., torch.Tensor]:
    """Wrap `model(x, t, **extra)`; extra tensors with x's spatial shape are cut into the same tiles."""

    def model_fn(x: torch.Tensor, t: torch.Tensor, **extra) -> torch.Tensor:
        spatial = x.shape[2:]
        total, weights = torch.zeros_like(x), x.new_zeros((1, 1, *spatial))
        sizes = [min(tile, s) for s in spatial]
        window = (
            ramp(sizes[0], overlap)[:, None, None]
            * ramp(sizes[1], overlap)[None, :, None]
            * ramp(sizes[2], overlap)[None, None, :]
        ).to(x)
        for a in tile_starts(spatial[0], tile, overlap):
            for b in tile_starts(spatial[1], tile, overlap):
                for c in tile_starts(spatial[2], tile, overlap):
                    box = (..., slice(a, a + sizes[0]), slice(b, b + sizes[1]), slice(c, c + sizes[2]))
                    cut = {k: v[box] if torch.is_tensor(v) and v.shape[2:] == spatial else v for k, v in extra.items()}
                    total[box] += model(x[box], t, **cut) * window
                    weights[box] += window
        return total / weights

    return model_fn
