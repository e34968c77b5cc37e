"""Planning a ranking study: simulated power of the Friedman test and of each Bonferroni-corrected pair.

Latent-quality (Thurstone case V) model: in every set, the scan of source s gets a perceived quality
μ_s + u_{reader,s} + e, with e ~ N(0, 1) per scan and u ~ N(0, reader_sd²) a reader's lasting preference;
the reader ranks by perceived quality (1 = best). μ is in units of the per-scan noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import optimize, stats

from studies.analysis.friedman import friedman_p, friedman_statistic
from studies.analysis.pairwise import bonferroni, wilcoxon_p
from studies.errors import StudyError

ALPHA = 0.05
GOAL = 0.8


@dataclass(frozen=True)
class Design:
    """A planned study: source effects (latent mean quality, in noise SDs), readers, sets per structure."""

    effects: dict[str, float]
    readers: int
    sets: int
    blocks: str = "set"
    reader_sd: float = 0.0


def simulate_ranks(design: Design, n_studies: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated ranks, shape (n_studies, readers, sets, k), 1 = best, sources in `design.effects` order."""
    mu = np.array(list(design.effects.values()), dtype=float)
    k = len(mu)
    bias = rng.normal(0.0, design.reader_sd, (n_studies, design.readers, 1, k)) if design.reader_sd else 0.0
    quality = mu + bias + rng.standard_normal((n_studies, design.readers, design.sets, k))
    return stats.rankdata(-quality, axis=-1)


def block_ranks(ranks: np.ndarray, blocks: str) -> np.ndarray:
    """(studies, readers, sets, k) ranks → (studies, n_blocks, k): one block per set, or per reader (mean over sets)."""
    if blocks == "reader":
        return ranks.mean(axis=2)
    return ranks.reshape(ranks.shape[0], -1, ranks.shape[-1])


def study_pvalues(blocks: np.ndarray, sources: list[str]) -> dict[str, np.ndarray]:
    """Per simulated study (blocks: (studies, n, k)): Friedman p and Bonferroni p of every pair "a vs b".

    The same statistics as `studies.analysis.summary.structure_summary` (tie-corrected Friedman χ², scipy's
    Wilcoxon signed-rank test, min(1, p · m)), vectorised over studies.
    """
    k = blocks.shape[-1]
    pairs = list(combinations(range(k), 2))
    result = {"Friedman": friedman_p(friedman_statistic(blocks), k)}
    for a, b in pairs:
        _, p = wilcoxon_p(blocks[..., a], blocks[..., b])
        result[f"{sources[a]} vs {sources[b]}"] = bonferroni(p, len(pairs))
    return result


def power(design: Design, n_studies: int = 1000, seed: int = 0) -> dict[str, float]:
    """Share of simulated studies in which each test reaches p ≤ 0.05 (Friedman; pairs Bonferroni-corrected)."""
    ranks = simulate_ranks(design, n_studies, np.random.default_rng(seed))
    return _rejection_rates(ranks, design)


def power_curve(design: Design, readers: list[int], n_studies: int = 1000, seed: int = 0) -> dict[str, list[float]]:
    """Power of every test at each reader count; the studies of r readers are the first r readers of the largest
    simulated studies (common random numbers), so the curves are smooth and reproducible by seed."""
    largest = Design(design.effects, max(readers), design.sets, design.blocks, design.reader_sd)
    ranks = simulate_ranks(largest, n_studies, np.random.default_rng(seed))
    curve: dict[str, list[float]] = {}
    for count in readers:
        for name, value in _rejection_rates(ranks[:, :count], design).items():
            curve.setdefault(name, []).append(value)
    return curve


def _rejection_rates(ranks: np.ndarray, design: Design) -> dict[str, float]:
    """Share of studies (ranks: (studies, readers, sets, k)) with p ≤ 0.05 for each test."""
    pvalues = study_pvalues(block_ranks(ranks, design.blocks), list(design.effects))
    return {name: float(np.mean(p <= ALPHA)) for name, p in pvalues.items()}


def smallest_readers(curve: dict[str, list[float]], readers: list[int], goal: float = GOAL) -> dict[str, int | None]:
    """First reader count at which each test's power reaches the goal (None when none does)."""
    return {
        name: next((count for count, value in zip(readers, values) if value >= goal), None)
        for name, values in curve.items()
    }


def effects_from_mean_ranks(mean_rank: dict[str, float]) -> dict[str, float]:
    r"""Latent effects whose expected ranks match a pilot's mean ranks (least squares, best source at the top).

    Under the model, E[rank_s] = 1 + Σ_{t≠s} Φ((μ_t − μ_s) / √2) (Thurstone 1927, case V); μ is centred at 0.
    """
    sources = list(mean_rank)
    target = np.array([mean_rank[s] for s in sources], dtype=float)
    k = len(sources)
    if k < 2 or np.isnan(target).any():
        raise StudyError("the pilot summary needs mean ranks of at least two sources")

    def residual(mu: np.ndarray) -> np.ndarray:
        expected = 1 + stats.norm.cdf((mu[None, :] - mu[:, None]) / np.sqrt(2)).sum(axis=1) - 0.5
        return np.append(expected - target, mu.sum())

    fit = optimize.least_squares(residual, np.zeros(k))
    return {source: float(value) for source, value in zip(sources, fit.x)}


def parse_effects(text: str, sources: list[str]) -> dict[str, float]:
    """ "real=1,medsyn=0.6,..." → effects in the order of `sources`; every source must be given a number."""
    effects: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        try:
            effects[name.strip()] = float(value)
        except ValueError:
            raise StudyError(f"--effect: {item!r} is not SOURCE=NUMBER") from None
    missing = [source for source in sources if source not in effects]
    if missing:
        raise StudyError(f"--effect: no effect given for {', '.join(missing)}")
    return {source: effects[source] for source in sources}


def default_effects(sources: list[str]) -> dict[str, float]:
    """Without a pilot: sources in the given order, each 0.5 noise SDs below the previous one."""
    return {source: 0.0 - 0.5 * index for index, source in enumerate(sources)}
