"""Ground truth measured on a phantom's own masks: what the evaluation metrics must recover from the CT."""

from __future__ import annotations

import numpy as np


def measure_truth(
    ct: np.ndarray,
    lobes: np.ndarray,
    airway: np.ndarray,
    effusion: np.ndarray,
    heart: np.ndarray,
    cavity: np.ndarray,
    spacing: float,
) -> dict[str, float]:
    """effusion_ml, ctr (widest cardiac extent across x over the inner thoracic width on that axial level),
    laa950_percent (share of lobe voxels below −950 HU) and airway_mm3 (airway lumen volume)."""
    voxel = spacing**3
    lung = lobes > 0
    return {
        "effusion_ml": round(float(effusion.sum()) * voxel / 1000, 2),
        "ctr": round(cardiothoracic_ratio(heart, cavity), 4),
        "laa950_percent": round(100 * float((ct[lung] < -950).mean()) if lung.any() else 0.0, 4),
        "airway_mm3": round(float(airway.sum()) * voxel, 1),
    }


def cardiothoracic_ratio(heart: np.ndarray, thorax: np.ndarray) -> float:
    """Maximal cardiac width over the inner thoracic width on the same axial level (widths along x)."""
    cardiac = _widths(heart)
    if not cardiac.any():
        return 0.0
    level = int(np.argmax(cardiac))
    thoracic = _widths(thorax[:, :, level : level + 1])[0]
    return float(cardiac[level] / thoracic) if thoracic else 0.0


def _widths(mask: np.ndarray) -> np.ndarray:
    """Extent along x (in voxels) of a mask on each axial slice (last axis), 0 where empty."""
    along_x = mask.any(axis=1)  # (X, Z)
    present = along_x.any(axis=0)
    first = np.argmax(along_x, axis=0)
    last = along_x.shape[0] - 1 - np.argmax(along_x[::-1], axis=0)
    return np.where(present, last - first + 1, 0)
