"""What the eye could use to tell sources apart: per-volume pixel statistics and per-source separability warnings.

Headers can be made identical; pixels cannot. These statistics flag a source whose served volumes all look
different from every other source's (noisier, smoother, quantised, a different histogram, more air around
the body), which readers might learn to recognise even though names and headers are blind.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

import numpy as np

from contracts.volumes import HU_CLIP

SOFT_TISSUE = (-100, 100)  # HU band where differences of neighbours are mostly noise, not edges
BODY_HU = -500  # voxels above this are body (soft tissue, bone), not lung or air
MAD_TO_SIGMA = 1.4826  # median absolute deviation of a normal distribution, in standard deviations
HISTOGRAM_TOLERANCE_HU = 30.0  # Wasserstein-1 distance between a source's and the others' histograms

# name: (description, unit, smallest median difference worth a warning)
METRICS = {
    "noise_hu": ("noise level (robust SD of neighbour differences in soft tissue)", " HU", 5.0),
    "grey_levels": ("share of distinct HU values used in [-1000, 200] (low = quantised intensities)", "", 0.15),
    "padding": ("share of voxels at exactly -1024 HU (air padding or clipping outside the field of view)", "", 0.05),
    "body_rl_mm": ("body width right-left (field of view)", " mm", 20.0),
    "body_ap_mm": ("body depth anterior-posterior (field of view)", " mm", 20.0),
    "body_si_mm": ("body length superior-inferior (field of view)", " mm", 20.0),
    "bits_per_voxel": ("compressed size of the served file (download size)", " bits/voxel", 0.5),  # set by the audit
}


@dataclass(frozen=True)
class Appearance:
    """Pixel statistics of one served volume: scalar metrics and its HU histogram (1-HU bins from -1024)."""

    metrics: dict[str, float]
    histogram: np.ndarray


def noise_sd(hu: np.ndarray) -> float:
    """Robust noise SD (HU): MAD of neighbour differences where both voxels are soft tissue, divided by sqrt 2."""
    differences = []
    for axis in range(3):
        first = np.moveaxis(hu, axis, 0)
        a, b = first[:-1], first[1:]
        inside = (a >= SOFT_TISSUE[0]) & (a <= SOFT_TISSUE[1]) & (b >= SOFT_TISSUE[0]) & (b <= SOFT_TISSUE[1])
        differences.append((b[inside].astype(np.float32) - a[inside]))
    d = np.concatenate(differences)
    if d.size < 1000:
        return float("nan")
    return float(MAD_TO_SIGMA * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def body_extent_mm(hu: np.ndarray, spacing: float) -> tuple[float, float, float]:
    """Extent (mm) of the bounding box of body voxels along R-L, A-P and S-I; 0 where there is no body."""
    body = hu > BODY_HU
    extents = []
    for axis in range(3):
        present = np.flatnonzero(body.any(axis=tuple(a for a in range(3) if a != axis)))
        extents.append(float((present[-1] - present[0] + 1) * spacing) if present.size else 0.0)
    return tuple(extents)


def measure(hu: np.ndarray, spacing: float) -> Appearance:
    """The appearance statistics of one served int16 volume."""
    low, high = HU_CLIP
    histogram = np.bincount((hu.astype(np.int32) - low).ravel(), minlength=high - low + 1).astype(np.float64)
    band = histogram[-1000 - low : 200 - low + 1]
    rl, ap, si = body_extent_mm(hu, spacing)
    return Appearance(
        metrics={
            "noise_hu": noise_sd(hu[:, :, ::2]),
            "grey_levels": float(np.count_nonzero(band)) / band.size,
            "padding": float(histogram[0] / hu.size),
            "body_rl_mm": rl,
            "body_ap_mm": ap,
            "body_si_mm": si,
        },
        histogram=histogram,
    )


def wasserstein_hu(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance (HU) between two 1-HU-bin histograms: the area between their cumulative distributions."""
    return float(np.abs(np.cumsum(a / a.sum()) - np.cumsum(b / b.sum())).sum())


def source_warnings(appearances: dict[str, Appearance], sources: dict[str, str]) -> list[str]:
    """Warnings for every source whose volumes are separable from all others by a metric or by their histogram.

    `appearances` and `sources` are keyed by opaque name. A scalar metric warns when all of a source's
    values lie beyond every other volume's (no overlap) and the medians differ by more than the metric's
    tolerance; the histogram warns when the source's pooled histogram is over HISTOGRAM_TOLERANCE_HU from
    the others' (Wasserstein-1).
    """
    labels = sorted({sources[name] for name in appearances})
    if len(labels) < 2:
        return []
    warnings: list[str] = []
    reported: set[frozenset[str]] = set()
    for source in labels:
        mine = [name for name in appearances if sources[name] == source]
        rest = [name for name in appearances if sources[name] != source]
        pair = frozenset({source, *[sources[name] for name in rest]})
        if len(labels) == 2 and pair in reported:
            continue
        reported.add(pair)
        for metric, (description, unit, tolerance) in METRICS.items():
            warning = _separable(
                metric,
                description,
                unit,
                tolerance,
                source,
                [appearances[n].metrics.get(metric, np.nan) for n in mine],
                [appearances[n].metrics.get(metric, np.nan) for n in rest],
            )
            if warning:
                warnings.append(warning)
        distance = wasserstein_hu(
            sum(appearances[n].histogram for n in mine), sum(appearances[n].histogram for n in rest)
        )
        if distance > HISTOGRAM_TOLERANCE_HU:
            warnings.append(
                f"intensity histogram: source {source!r} differs from the other sources by {distance:.0f} HU "
                f"(Wasserstein-1 distance; tolerance {HISTOGRAM_TOLERANCE_HU:.0f} HU)"
            )
    return warnings


def _separable(
    metric: str, description: str, unit: str, tolerance: float, source: str, mine: list[float], rest: list[float]
) -> str | None:
    mine = [v for v in mine if np.isfinite(v)]
    rest = [v for v in rest if np.isfinite(v)]
    if not mine or not rest:
        return None
    gap = median(mine) - median(rest)
    if abs(gap) <= tolerance or not (max(mine) < min(rest) or min(mine) > max(rest)):
        return None
    side = "above" if gap > 0 else "below"
    note = (
        " (the build centres each volume's own field of view on the grid and pads with air or crops)"
        if "field of view" in description
        else ""
    )
    return (
        f"{description}: every volume of source {source!r} is {side} every other volume "
        f"(median {median(mine):.3g}{unit} vs {median(rest):.3g}{unit}){note}"
    )
