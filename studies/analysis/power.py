"""Planning a ranking study: simulated power (and type-I error) of the pooled tests and the scan-level tests.

Latent-quality (Thurstone case V) model: reader r sees the scan of source j in set s with perceived quality
μ_j + u_{r,j} + v_{s,j} + e_{r,s,j}: e ~ N(0, 1) the reader's noise on that look, u ~ N(0, reader_sd²) a reader's
lasting preference for a source, v ~ N(0, scan_sd²) the quality of that particular scan, shared by every reader
who ranks it. The reader ranks by perceived quality (1 = best). μ is in units of the per-look noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import optimize, stats

from studies.analysis.adjust import adjust_p
from studies.analysis.crossed import crossed_f
from studies.analysis.friedman import friedman_p, friedman_statistic
from studies.analysis.pairwise import wilcoxon_p
from studies.analysis.permutation import global_test, pair_test, permutation_plan
from studies.errors import StudyError

ALPHA = 0.05
GOAL = 0.8
SIMULATION_PERMUTATIONS = 2000
"""Relabellings per simulated study: exact when (k!)^(S−1) is at most this, else this many Monte Carlo draws."""
SCAN_LEVEL = "scan-level"
CROSSED = "crossed (readers and scans random)"


@dataclass(frozen=True)
class Design:
    """A planned study: source effects (latent mean quality, in noise SDs), readers, sets per structure, how blocks
    are formed, the reader-preference and scan-quality SDs, and the pairs' adjustment."""

    effects: dict[str, float]
    readers: int
    sets: int
    blocks: str = "set"
    reader_sd: float = 0.0
    scan_sd: float = 0.0
    adjust: str = "bonferroni"

    def resized(self, readers: int | None = None, sets: int | None = None, null: bool = False) -> "Design":
        """The same design with other reader or set counts, or with no source effect (null)."""
        effects = {source: 0.0 for source in self.effects} if null else self.effects
        return Design(
            effects,
            readers or self.readers,
            sets or self.sets,
            self.blocks,
            self.reader_sd,
            self.scan_sd,
            self.adjust,
        )


def simulate_ranks(design: Design, n_studies: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated ranks, shape (n_studies, readers, sets, k), 1 = best, sources in `design.effects` order."""
    mu = np.array(list(design.effects.values()), dtype=float)
    k = len(mu)
    quality = mu + rng.standard_normal((n_studies, design.readers, design.sets, k))
    if design.reader_sd:
        quality = quality + rng.normal(0.0, design.reader_sd, (n_studies, design.readers, 1, k))
    if design.scan_sd:
        quality = quality + rng.normal(0.0, design.scan_sd, (n_studies, 1, design.sets, k))
    return stats.rankdata(-quality, axis=-1)


def block_ranks(ranks: np.ndarray, blocks: str) -> np.ndarray:
    """(studies, readers, sets, k) ranks → (studies, n_blocks, k): one block per set, or per reader (mean over sets)."""
    if blocks == "reader":
        return ranks.mean(axis=2)
    return ranks.reshape(ranks.shape[0], -1, ranks.shape[-1])


def study_pvalues(blocks: np.ndarray, sources: list[str], adjust: str = "bonferroni") -> dict[str, np.ndarray]:
    """Per simulated study (blocks: (studies, n, k)): Friedman p and the adjusted p of every pair "a vs b".

    The same statistics as `studies.analysis.summary.structure_summary` (tie-corrected Friedman χ², scipy's
    Wilcoxon signed-rank test, `adjust_p` over the structure's pairs), vectorised over studies.
    """
    k = blocks.shape[-1]
    pairs = list(combinations(range(k), 2))
    result = {"Friedman": friedman_p(friedman_statistic(blocks), k)}
    raw = np.stack([wilcoxon_p(blocks[..., a], blocks[..., b])[1] for a, b in pairs], axis=-1)
    adjusted = adjust_p(raw, adjust)
    for index, (a, b) in enumerate(pairs):
        result[f"{sources[a]} vs {sources[b]}"] = adjusted[..., index]
    return result


def scan_level_pvalues(
    ranks: np.ndarray,
    sources: list[str],
    adjust: str = "bonferroni",
    permutations: int = SIMULATION_PERMUTATIONS,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Per simulated study (ranks: (studies, readers, sets, k)): the scan-level permutation p of all sources, the
    adjusted p of every pair, as `studies.analysis.permutation` computes them for one study (exact where
    (k!)^(S−1) ≤ permutations, else that many seeded draws), and the crossed quasi-F p (`crossed_f`)."""
    totals = ranks.sum(axis=1)
    n_sets, k = totals.shape[-2:]
    exact, _ = permutation_plan(n_sets, k, permutations)
    _, p = global_test(totals, exact, permutations, seed)
    result = {SCAN_LEVEL: p, CROSSED: crossed_f(ranks)[3]}
    pairs = list(combinations(range(k), 2))
    pair_exact = 2**n_sets <= permutations
    raw = np.stack(
        [pair_test(totals[..., a] - totals[..., b], pair_exact, permutations, seed)[1] for a, b in pairs], axis=-1
    )
    adjusted = adjust_p(raw, adjust)
    for index, (a, b) in enumerate(pairs):
        result[f"{sources[a]} vs {sources[b]} ({SCAN_LEVEL})"] = adjusted[..., index]
    return result


def power(design: Design, n_studies: int = 1000, seed: int = 0, scan_level: bool = False) -> dict[str, float]:
    """Share of simulated studies in which each test reaches p ≤ 0.05 (Friedman; pairs adjusted; with scan_level,
    also the scan-level permutation tests)."""
    ranks = simulate_ranks(design, n_studies, np.random.default_rng(seed))
    return _rejection_rates(ranks, design, scan_level)


def power_curve(
    design: Design, readers: list[int], n_studies: int = 1000, seed: int = 0, scan_level: bool = False
) -> dict[str, list[float]]:
    """Power of every test at each reader count; the studies of r readers are the first r readers of the largest
    simulated studies (common random numbers), so the curves are smooth and reproducible by seed."""
    ranks = simulate_ranks(design.resized(readers=max(readers)), n_studies, np.random.default_rng(seed))
    curve: dict[str, list[float]] = {}
    for count in readers:
        for name, value in _rejection_rates(ranks[:, :count], design, scan_level).items():
            curve.setdefault(name, []).append(value)
    return curve


def sets_curve(design: Design, sets: list[int], n_studies: int = 1000, seed: int = 0) -> dict[str, list[float]]:
    """Power of the scan-level tests at each number of sets per structure (design.readers readers); the studies of
    s sets are the first s sets of the largest simulated studies."""
    ranks = simulate_ranks(design.resized(sets=max(sets)), n_studies, np.random.default_rng(seed))
    curve: dict[str, list[float]] = {}
    for count in sets:
        pvalues = scan_level_pvalues(ranks[:, :, :count], list(design.effects), design.adjust, seed=seed)
        for name, p in pvalues.items():
            curve.setdefault(name, []).append(float(np.mean(p <= ALPHA)))
    return curve


def _rejection_rates(ranks: np.ndarray, design: Design, scan_level: bool = False) -> dict[str, float]:
    """Share of studies (ranks: (studies, readers, sets, k)) with p ≤ 0.05 for each test."""
    sources = list(design.effects)
    pvalues = study_pvalues(block_ranks(ranks, design.blocks), sources, design.adjust)
    if scan_level:
        pvalues.update(scan_level_pvalues(ranks, sources, design.adjust))
    return {name: float(np.mean(p <= ALPHA)) for name, p in pvalues.items()}


def smallest_count(curve: dict[str, list[float]], counts: list[int], goal: float = GOAL) -> dict[str, int | None]:
    """First count (of readers or sets) at which each test's power reaches the goal (None when none does)."""
    return {
        name: next((count for count, value in zip(counts, values) if value >= goal), None)
        for name, values in curve.items()
    }


def effects_from_mean_ranks(mean_rank: dict[str, float], spread: float = 1.0) -> dict[str, float]:
    r"""Latent effects whose expected ranks match a pilot's mean ranks (least squares, best source at the top).

    Under the model, E[rank_s] = 1 + Σ_{t≠s} Φ((μ_t − μ_s) / (√2 σ)) (Thurstone 1927, case V), σ = `spread` the
    SD of one perceived quality, √(1 + reader_sd² + scan_sd²); μ is centred at 0.
    """
    sources = list(mean_rank)
    target = np.array([mean_rank[s] for s in sources], dtype=float)
    k = len(sources)
    if k < 2 or np.isnan(target).any():
        raise StudyError("the pilot summary needs mean ranks of at least two sources")

    def residual(mu: np.ndarray) -> np.ndarray:
        expected = 1 + stats.norm.cdf((mu[None, :] - mu[:, None]) / (np.sqrt(2) * spread)).sum(axis=1) - 0.5
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
