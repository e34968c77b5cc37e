"""What the eye could use to tell sources apart: per-volume pixel statistics, compared pairwise between sources.

Headers can be made identical; pixels cannot. These statistics flag a pair of sources whose served volumes are
told apart by noise, sharpness, grey levels, value range or histogram, which readers might learn to recognise
even though names, headers and byte lengths are blind; and served volumes that show nothing to judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from statistics import median
from typing import Mapping, Sequence

import numpy as np

from contracts.volumes import HU_CLIP

HU_MIN, HU_MAX = HU_CLIP

SOFT_TISSUE = (-100, 100)  # HU band where differences of neighbours are mostly noise, not edges
BODY_HU = -500  # voxels above this are body (soft tissue, bone), not lung or air
AIR_HU = -950  # voxels at or below this are air (outside the body or in a trachea), not lung
MAD_TO_SIGMA = 1.4826  # median absolute deviation of a normal distribution, in standard deviations
HISTOGRAM_TOLERANCE_HU = 30.0  # Wasserstein-1 distance between two sources' pooled histograms
INT16_OFFSET = 32768  # value v of an int16 volume is counted in bin v + INT16_OFFSET
ORDERED_SETS = 3  # a metric ordered the same way in at least this many ranking sets (and all of them) warns
NEARLY_CONSTANT_HU = 50  # a served volume whose 1st to 99th percentile spans less than this shows nothing
MOSTLY_AIR = 0.9  # share of air voxels above which a served volume is mostly air
AT_UPPER_BOUND = 0.2  # share of voxels at the upper clip bound above which the intensity mapping is suspect

# name: (description, unit, smallest median difference worth a warning)
METRICS = {
    "noise_hu": ("noise level (robust SD of neighbour differences in soft tissue)", " HU", 5.0),
    "sharpness_hu": ("sharpness (mean neighbour difference across body edges)", " HU/voxel", 30.0),
    "grey_levels": ("share of distinct HU values used in [-1000, 200] (low = quantised intensities)", "", 0.15),
    "unique_values": ("number of distinct values", "", 200.0),
    "hu_min": ("lowest value (value range)", " HU", 100.0),
    "hu_max": ("highest value (value range)", " HU", 100.0),
    "padding": (
        f"share of voxels at exactly {HU_MIN} HU (air padding or clipping outside the field of view)",
        "",
        0.05,
    ),
    "body_rl_mm": ("body width right-left (field of view)", " mm", 20.0),
    "body_ap_mm": ("body depth anterior-posterior (field of view)", " mm", 20.0),
    "body_si_mm": ("body length superior-inferior (field of view)", " mm", 20.0),
}
RANGE_METRICS = ("hu_min", "hu_max")


@dataclass(frozen=True)
class Appearance:
    """Pixel statistics of one served volume: scalar metrics and its HU histogram (1-HU bins from HU_MIN)."""

    metrics: dict[str, float]
    histogram: np.ndarray


def value_counts(hu: np.ndarray) -> np.ndarray:
    """How many voxels of an int16 volume hold each value: 65,536 bins, value v in bin v + INT16_OFFSET."""
    return np.bincount(hu.ravel(order="K").view(np.uint16) ^ np.uint16(INT16_OFFSET), minlength=1 << 16)


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


def edge_sharpness(hu: np.ndarray) -> float:
    """Mean absolute neighbour difference (HU per voxel) where one neighbour is body and the other is not: how
    abruptly the body's and lungs' boundaries change, i.e. sharpness; NaN without such edges."""
    total, count = 0.0, 0
    for axis in range(3):
        first = np.moveaxis(hu, axis, 0)
        a, b = first[:-1], first[1:]
        edge = (a > BODY_HU) != (b > BODY_HU)
        total += float(np.abs(b[edge].astype(np.float32) - a[edge]).sum())
        count += int(np.count_nonzero(edge))
    return total / count if count else float("nan")


def body_extent_mm(hu: np.ndarray, spacing: float) -> tuple[float, float, float]:
    """Extent (mm) of the bounding box of body voxels along R-L, A-P and S-I; 0 where there is no body."""
    body = hu > BODY_HU
    extents = []
    for axis in range(3):
        present = np.flatnonzero(body.any(axis=tuple(a for a in range(3) if a != axis)))
        extents.append(float((present[-1] - present[0] + 1) * spacing) if present.size else 0.0)
    return tuple(extents)


def measure(hu: np.ndarray, spacing: float, counts: np.ndarray | None = None) -> Appearance:
    """The appearance statistics of one served int16 volume (`counts`: its value_counts, if already computed)."""
    counts = value_counts(hu) if counts is None else counts
    histogram = counts[HU_MIN + INT16_OFFSET : HU_MAX + INT16_OFFSET + 1].astype(np.float64)
    band = histogram[-1000 - HU_MIN : 200 - HU_MIN + 1]
    present = np.flatnonzero(counts) - INT16_OFFSET
    rl, ap, si = body_extent_mm(hu, spacing)
    return Appearance(
        metrics={
            "noise_hu": noise_sd(hu[:, :, ::2]),
            "sharpness_hu": edge_sharpness(hu[:, :, ::2]),
            "grey_levels": float(np.count_nonzero(band)) / band.size,
            "unique_values": float(present.size),
            "hu_min": float(present[0]),
            "hu_max": float(present[-1]),
            "padding": float(counts[HU_MIN + INT16_OFFSET] / hu.size),
            "body_rl_mm": rl,
            "body_ap_mm": ap,
            "body_si_mm": si,
        },
        histogram=histogram,
    )


def unusable(counts: np.ndarray, bounds: tuple[int, int]) -> list[str]:
    """Why a served volume shows nothing a reader could judge: nearly constant, mostly air or mostly at the upper
    clip bound (`bounds`: the study's clip range); empty when it looks like a CT."""
    total = counts.sum()
    cumulative = np.cumsum(counts) / total
    p1, p99 = (int(np.searchsorted(cumulative, q)) - INT16_OFFSET for q in (0.01, 0.99))
    air = counts[: max(AIR_HU, bounds[0]) + INT16_OFFSET + 1].sum() / total
    upper = counts[bounds[1] + INT16_OFFSET] / total
    problems = []
    if p99 - p1 < NEARLY_CONSTANT_HU:
        problems.append(
            f"nearly constant: 98 % of voxels lie between {p1} and {p99} HU (check the volume's `intensity` "
            "and that the study's shape and spacing hold the body)"
        )
    if air > MOSTLY_AIR:
        problems.append(
            f"mostly air: {100 * air:.0f} % of voxels at or below {max(AIR_HU, bounds[0])} HU (the body lies "
            "outside the grid or the intensity is wrong; check shape, spacing and `intensity`)"
        )
    if upper > AT_UPPER_BOUND:
        problems.append(
            f"mostly at the clip bound: {100 * upper:.0f} % of voxels at {bounds[1]} HU (is `intensity` right: "
            'HU data declared "unit" is stretched 812-fold?)'
        )
    return problems


def wasserstein_hu(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance (HU) between two 1-HU-bin histograms: the area between their cumulative distributions."""
    return float(np.abs(np.cumsum(a / a.sum()) - np.cumsum(b / b.sum())).sum())


def source_warnings(
    appearances: Mapping[str, Appearance],
    sources: Mapping[str, str],
    sets: Sequence[tuple[str, Sequence[str]]] = (),
) -> list[str]:
    """Warnings for every pair of sources told apart by a metric or by their histograms.

    `appearances` and `sources` are keyed by opaque name; `sets` lists (set id, names) of the ranking sets. A
    scalar metric warns when the pair's medians differ by more than the metric's tolerance and either every
    volume of one source lies beyond every volume of the other (two or more volumes each), or one source is
    above the other in every ranking set holding both (at least ORDERED_SETS sets); the histogram warns when the
    two sources' pooled histograms are over HISTOGRAM_TOLERANCE_HU apart (Wasserstein-1). A value range that
    differs suggests `[study] clip`.
    """
    labels = sorted({sources[name] for name in appearances})
    warnings: list[str] = []
    range_differs = False
    for first, second in combinations(labels, 2):
        mine = [name for name in appearances if sources[name] == first]
        theirs = [name for name in appearances if sources[name] == second]
        for metric, (description, unit, tolerance) in METRICS.items():
            values = {name: appearances[name].metrics.get(metric, np.nan) for name in mine + theirs}
            warning = _separable(description, unit, tolerance, first, second, mine, theirs, values, sets, sources)
            if warning:
                warnings.append(warning)
                range_differs |= metric in RANGE_METRICS
        distance = wasserstein_hu(
            sum(appearances[n].histogram for n in mine), sum(appearances[n].histogram for n in theirs)
        )
        if distance > HISTOGRAM_TOLERANCE_HU:
            warnings.append(
                f"intensity histogram: sources {first!r} and {second!r} differ by {distance:.0f} HU "
                f"(Wasserstein-1 distance of their pooled histograms; tolerance {HISTOGRAM_TOLERANCE_HU:.0f} HU)"
            )
    if range_differs:
        warnings.append(_clip_advice(appearances, sources, labels))
    return warnings


def _separable(
    description: str,
    unit: str,
    tolerance: float,
    first: str,
    second: str,
    mine: list[str],
    theirs: list[str],
    values: dict[str, float],
    sets: Sequence[tuple[str, Sequence[str]]],
    sources: Mapping[str, str],
) -> str | None:
    """The warning for one metric and one pair of sources, or None when the metric does not tell them apart."""
    a = [values[n] for n in mine if np.isfinite(values[n])]
    b = [values[n] for n in theirs if np.isfinite(values[n])]
    if not a or not b or abs(median(a) - median(b)) <= tolerance:
        return None
    side = "above" if median(a) > median(b) else "below"
    medians = f"median {median(a):.4g}{unit} vs {median(b):.4g}{unit}"
    note = (
        " (the build centres each volume's own field of view on the grid and pads with air or crops)"
        if "field of view" in description
        else ""
    )
    if min(len(a), len(b)) >= 2 and (max(a) < min(b) or min(a) > max(b)):
        return f"{description}: every volume of source {first!r} is {side} every volume of {second!r} ({medians}){note}"
    gaps = {}  # a set repeating the same volumes of the two sources is one comparison, not several
    for _, names in sets:
        here = [n for n in names if sources.get(n) in (first, second) and np.isfinite(values[n])]
        ours = [values[n] for n in here if sources[n] == first]
        others = [values[n] for n in here if sources[n] == second]
        if ours and others:
            gaps[frozenset(here)] = median(ours) - median(others)
    gaps = list(gaps.values())
    if len(gaps) >= ORDERED_SETS and (all(g > 0 for g in gaps) or all(g < 0 for g in gaps)):
        return (
            f"{description}: source {first!r} is {side} {second!r} in every one of the {len(gaps)} ranking sets "
            f"that show both side by side ({medians}){note}"
        )
    return None


def _clip_advice(appearances: Mapping[str, Appearance], sources: Mapping[str, str], labels: list[str]) -> str:
    """The `[study] clip` range every source reaches: of the sources' median lowest and highest values, the
    innermost where they differ by more than the tolerance, else the outermost."""
    bounds = []
    for metric, inner in (("hu_min", max), ("hu_max", min)):
        medians = [median(appearances[n].metrics[metric] for n in appearances if sources[n] == s) for s in labels]
        spread = max(medians) - min(medians) > METRICS[metric][2]
        bounds.append(inner(medians) if spread else {max: min, min: max}[inner](medians))
    return (
        "value range: readers can see a source's range in the viewer's HU read-out and in how bright bone gets; "
        f"to serve every source on one common range set `clip = [{bounds[0]:.0f}, {bounds[1]:.0f}]` under [study] "
        "in the manifest and rebuild"
    )
