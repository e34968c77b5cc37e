"""Findings drawn at random for a phantom, and how each one changes its volumes.

Sizes span wide ranges so that report text can move them: effusion from 100 mL to 1.8 L, CTR from 0.40 to
0.65 (> 0.5 is cardiomegaly), consolidation of 20–80 % of a lobe, emphysema of 2–30 % of the lungs.

The findings dict (meta.json `findings`, the input of `reports.report_for`); an absent finding is None:
    pleural_effusion: {side: left|right|bilateral, size: small|moderate|large, volume_ml}
    cardiomegaly:     {grade: mild|marked, ctr}
    consolidation:    {lobe: "left upper" ... "right lower", extent (share of the lobe), pattern: patchy|lobar}
    emphysema:        {severity: mild|severe, bullae (count), laa_percent}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from generator.data.anatomy import HU, LEFT_LOBES, LOBES, RIGHT_LOBES, spacing_for

EFFUSION_ML = {"small": (100, 300), "moderate": (350, 800), "large": (950, 1800)}
CTR_RANGE = {"normal": (0.40, 0.49), "mild": (0.51, 0.57), "marked": (0.58, 0.65)}
EMPHYSEMA_PERCENT = {"mild": (2.0, 7.0), "severe": (12.0, 30.0)}
SIDES = ("left", "right", "bilateral")


@dataclass(frozen=True)
class FindingMix:
    """How often each finding is drawn, and with which weights its side, size, grade or severity (None: uniform)."""

    probability: dict
    sides: tuple[float, ...] = (0.4, 0.4, 0.2)
    sizes: tuple[float, ...] | None = None  # small, moderate, large
    grades: tuple[float, ...] | None = None  # mild, marked
    severities: tuple[float, ...] | None = None  # mild, severe


MIXES = {
    # A screening-like mix: large bilateral effusions are ≈ 2 % of phantoms.
    "default": FindingMix({"pleural_effusion": 0.35, "cardiomegaly": 0.35, "consolidation": 0.25, "emphysema": 0.3}),
    # For text-control experiments: the prompts' findings (large bilateral effusion 18 %, marked cardiomegaly 31 %,
    # severe emphysema 31 %) and phantoms without any finding (13 %) are all common enough to learn and to measure.
    "balanced": FindingMix(
        {"pleural_effusion": 0.5, "cardiomegaly": 0.45, "consolidation": 0.15, "emphysema": 0.45},
        sides=(0.2, 0.2, 0.6),
        sizes=(0.2, 0.2, 0.6),
        grades=(0.3, 0.7),
        severities=(0.3, 0.7),
    ),
}


def _pick(rng: np.random.Generator, options: list[str], weights: tuple[float, ...] | None) -> str:
    """One option; uniform draws keep the call they always had, so the default mix's phantoms do not change."""
    return str(rng.choice(options) if weights is None else rng.choice(options, p=list(weights)))


def draw_findings(rng: np.random.Generator, mix: str = "default") -> dict:
    """Draw which findings a phantom has and their sizes under a mix of MIXES; absent findings are None."""
    if mix not in MIXES:
        raise ValueError(f"unknown finding mix {mix!r}; choose one of {', '.join(MIXES)}")
    m = MIXES[mix]
    findings: dict = dict.fromkeys(m.probability)
    if rng.random() < m.probability["pleural_effusion"]:
        size = _pick(rng, list(EFFUSION_ML), m.sizes)
        findings["pleural_effusion"] = {
            "side": str(rng.choice(list(SIDES), p=list(m.sides))),
            "size": size,
            "volume_ml": round(float(rng.uniform(*EFFUSION_ML[size])), 1),
        }
    if rng.random() < m.probability["cardiomegaly"]:
        grade = _pick(rng, ["mild", "marked"], m.grades)
        findings["cardiomegaly"] = {"grade": grade, "ctr": round(float(rng.uniform(*CTR_RANGE[grade])), 3)}
    if rng.random() < m.probability["consolidation"]:
        extent = float(rng.uniform(0.2, 0.8))
        findings["consolidation"] = {
            "lobe": LOBES[int(rng.integers(1, 6))],
            "extent": round(extent, 3),
            "pattern": "patchy" if extent < 0.45 else "lobar",
        }
    if rng.random() < m.probability["emphysema"]:
        severity = _pick(rng, ["mild", "severe"], m.severities)
        bullae = int(rng.integers(1, 5)) if rng.random() < (0.4 if severity == "mild" else 0.7) else 0
        findings["emphysema"] = {
            "severity": severity,
            "bullae": bullae,
            "laa_percent": round(float(rng.uniform(*EMPHYSEMA_PERCENT[severity])), 2),
        }
    return findings


def heart_ctr(findings: dict, rng: np.random.Generator) -> float:
    """The cardiothoracic ratio to build: the drawn one with cardiomegaly, a normal one otherwise."""
    found = findings["cardiomegaly"]
    return found["ctr"] if found else float(rng.uniform(*CTR_RANGE["normal"]))


def effusion_mask(found: dict | None, lobes: np.ndarray, Y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Pleural fluid layering in the dependent (posterior) pleural space of the affected side(s), replacing
    lung up to a level surface (slightly higher laterally, a meniscus) that holds the drawn volume."""
    fluid = np.zeros(lobes.shape, bool)
    if not found:
        return fluid
    spacing = float(X[1, 0, 0] - X[0, 0, 0])
    sides = {"left": [LEFT_LOBES], "right": [RIGHT_LOBES], "bilateral": [LEFT_LOBES, RIGHT_LOBES]}[found["side"]]
    per_side = found["volume_ml"] * 1000 / spacing**3 / len(sides)
    for labels in sides:
        side = np.isin(lobes, labels)
        idx = np.nonzero(side)
        if not idx[0].size:
            continue
        x = X[idx[0], 0, 0]
        height = Y[0, idx[1], 0] - 0.25 * np.abs(x - x.mean())
        k = int(min(per_side, 0.7 * idx[0].size))
        if k < 1:
            continue
        level = np.partition(height, k - 1)[k - 1]
        keep = height <= level
        fluid[idx[0][keep], idx[1][keep], idx[2][keep]] = True
    return fluid


def consolidation_mask(
    found: dict | None, lobes: np.ndarray, field: np.ndarray | None, rng: np.random.Generator, X, Y, Z
) -> np.ndarray:
    """Airless lung filling `extent` of one lobe around a random seed point, with an irregular border."""
    mask = np.zeros(lobes.shape, bool)
    if not found:
        return mask
    label = {v: k for k, v in LOBES.items()}[found["lobe"]]
    idx = np.nonzero(lobes == label)
    if not idx[0].size:
        return mask
    seed = int(rng.integers(idx[0].size))
    px, py, pz = X[idx[0][seed], 0, 0], Y[0, idx[1][seed], 0], Z[0, 0, idx[2][seed]]
    dist = np.sqrt((X[idx[0], 0, 0] - px) ** 2 + (Y[0, idx[1], 0] - py) ** 2 + (Z[0, 0, idx[2]] - pz) ** 2)
    dist += 25 * field[idx]
    k = max(1, int(found["extent"] * idx[0].size))
    keep = dist <= np.partition(dist, k - 1)[k - 1]
    mask[idx[0][keep], idx[1][keep], idx[2][keep]] = True
    return mask


def emphysema_masks(
    found: dict | None, lung: np.ndarray, field: np.ndarray | None, rng: np.random.Generator, Z: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Low-attenuation areas (clustered holes from `field`, upper-lobe predominant, covering the drawn share of
    the lungs) and bullae."""
    empty = np.zeros(lung.shape, bool)
    if not found:
        return empty, empty
    idx = np.nonzero(lung)
    if not idx[0].size:
        return empty, empty
    score = field[idx] + 0.8 * Z[0, 0, idx[2]] / 150
    k = max(1, int(found["laa_percent"] / 100 * idx[0].size))
    keep = score >= -np.partition(-score, k - 1)[k - 1]
    laa = empty.copy()
    laa[idx[0][keep], idx[1][keep], idx[2][keep]] = True
    bullae = empty.copy()
    size = lung.shape[0]
    spacing = spacing_for(size)
    upper = np.nonzero(Z[0, 0, idx[2]] > np.percentile(Z[0, 0, idx[2]], 50))[0]
    for _ in range(found["bullae"]):
        centre = upper[int(rng.integers(upper.size))]
        r = rng.uniform(10, 28) / spacing
        c = [idx[a][centre] for a in range(3)]
        lo = [max(0, int(c[a] - r - 1)) for a in range(3)]
        hi = [min(size, int(c[a] + r + 2)) for a in range(3)]
        g = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        ball = (g[0] - c[0]) ** 2 + (g[1] - c[1]) ** 2 + (g[2] - c[2]) ** 2 <= r * r
        bullae[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] |= ball
    return laa, bullae & lung


def smooth_field(rng: np.random.Generator, size: int, cell_mm: float) -> np.ndarray:
    """A smooth random field (zero mean, unit-ish spread) drawn on a coarse grid of fixed cell size, so the
    same seed gives the same pattern at every phantom size."""
    coarse = max(4, int(round(size * spacing_for(size) / cell_mm)))
    noise = ndimage.gaussian_filter(rng.standard_normal((coarse,) * 3).astype(np.float32), 1.0, mode="wrap")
    noise /= noise.std() + 1e-6
    return ndimage.zoom(noise, size / coarse, order=1, mode="nearest", grid_mode=True)[:size, :size, :size]


def apply_hu(hu: np.ndarray, masks: dict[str, np.ndarray]) -> None:
    """Paint the findings' tissues into the HU volume (before noise)."""
    hu[masks["laa"]] = HU["emphysema"]
    hu[masks["bullae"]] = HU["bulla"]
    hu[masks["consolidation"]] = HU["consolidation"]
    hu[masks["effusion"]] = HU["fluid"]
