"""Model space: a case as four channels (ct, lobes, airway, vessels) in [-1, 1], and its exact inverse (DESIGN.md).

CT: HU clipped to [-1024, 600] and mapped linearly to [-1, 1] (paper, section V-A). Lobes: label·0.4 − 1.
Masks: 2·m − 1. Low resolution is nearest-neighbour 4× down-sampling (paper, section V-A: 256³ → 64³).
"""

from __future__ import annotations

import numpy as np

from contracts.volumes import CHANNELS, HU_WINDOW, LOW_FACTOR
from generator.data.cases import LOBE_MAX, Case, check_case

HU_MIN, HU_MAX = HU_WINDOW
LOBE_STEP = 0.4


def to_model(case: Case) -> np.ndarray:
    """Encode a case as float32 (4, X, Y, Z) in [-1, 1]."""
    ct = (np.clip(case.ct.astype(np.float32), HU_MIN, HU_MAX) - HU_MIN) / (HU_MAX - HU_MIN) * 2.0 - 1.0
    lobes = case.lobes.astype(np.float32) * LOBE_STEP - 1.0
    airway = case.airway.astype(np.float32) * 2.0 - 1.0
    vessels = case.vessels.astype(np.float32) * 2.0 - 1.0
    return np.stack([ct, lobes, airway, vessels]).astype(np.float32, copy=False)


def from_model(x: np.ndarray, affine: np.ndarray, report: str = "", meta: dict | None = None) -> Case:
    """Decode float (4, X, Y, Z) model space into a case: CT rounded to HU, lobes rounded, masks thresholded at 0."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[0] != len(CHANNELS):
        raise ValueError(f"model-space volume must have shape (4, X, Y, Z), got {x.shape}")
    ct = np.rint((np.clip(x[0], -1.0, 1.0) + 1.0) / 2.0 * (HU_MAX - HU_MIN) + HU_MIN).astype(np.int16)
    lobes = np.clip(np.rint((x[1] + 1.0) / LOBE_STEP), 0, LOBE_MAX).astype(np.uint8)
    case = Case(
        ct=ct,
        lobes=lobes,
        airway=(x[2] > 0).astype(np.uint8),
        vessels=(x[3] > 0).astype(np.uint8),
        affine=np.asarray(affine, dtype=np.float64),
        report=report,
        meta=dict(meta or {}),
    )
    check_case(case, "decoded sample")
    return case


def downsample(x, factor: int = LOW_FACTOR):
    """Nearest-neighbour down-sampling of the last three axes (numpy array or torch tensor, any leading dims)."""
    return x[..., ::factor, ::factor, ::factor]


def upsample(x, factor: int = LOW_FACTOR):
    """Nearest-neighbour up-sampling (repeat) of the last three axes: the super-resolution condition."""
    for axis in (-3, -2, -1):
        x = (
            x.repeat_interleave(factor, dim=axis)
            if hasattr(x, "repeat_interleave")
            else np.repeat(x, factor, axis=axis)
        )
    return x
