"""Planning a ranking study: simulated power (and type-I error) of the pooled tests, the scan-level tests and the
generalising test (readers and sets random, `studies.analysis.crossed`), the very statistics the analysis reports.

Latent-quality (Thurstone case V) model: reader r sees the scan of source j in set s with perceived quality
μ_j + u_{r,j} + v_{s,j} + e_{r,s,j}: e ~ N(0, 1) the reader's noise on that look, u ~ N(0, reader_sd²) a reader's
lasting preference for a source, v ~ N(0, scan_sd²) the quality of that particular scan, shared by every reader
who ranks it. The reader ranks by perceived quality (1 = best). μ is in units of the per-look noise. A design may be
incomplete: each reader then ranks each set with probability `complete` (at least one set each).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import optimize, stats

from studies.analysis.adjust import adjust_p
from studies.analysis.crossed import generalising_p, units_needed
from studies.analysis.friedman import friedman_p, friedman_statistic
from studies.analysis.pairwise import wilcoxon_p
from studies.analysis.permutation import DRAWS, pair_test
from studies.analysis.plan import DEFAULT_ALPHA
from studies.errors import StudyError

ALPHA = DEFAULT_ALPHA
GOAL = 0.8
PLAN_READERS = (3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)
"""Reader counts `studies power` searches for the generalising test's plan (with the planned count)."""
SIMULATION_PERMUTATIONS = 2000
"""Relabellings per simulated study: exact when (k!)^(S−1) is at most this, else this many Monte Carlo draws."""
SCAN_LEVEL = "scan-level"
CROSSED = "crossed (readers and scans random)"
"""The generalising test, under the name the plan's `primary = "crossed"` selects."""


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
    complete: float = 1.0

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
            self.complete,
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


def simulate_seen(design: Design, n_studies: int, rng: np.random.Generator) -> np.ndarray:
    """Which rankings exist, (n_studies, readers, sets): each with probability `design.complete`, and one random
    set for a reader who would otherwise have ranked none (all, for a complete design)."""
    shape = (n_studies, design.readers, design.sets)
    if design.complete >= 1:
        return np.ones(shape, dtype=bool)
    seen = rng.random(shape) < design.complete
    rescue = np.arange(design.sets) == rng.integers(design.sets, size=shape[:2])[..., None]
    return seen | (rescue & ~seen.any(axis=-1, keepdims=True))


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
    seen: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per simulated study (ranks: (studies, readers, sets, k); seen: which rankings exist, default all): the
    scan-level permutation p of all sources, the adjusted p of every pair, as `studies.analysis.permutation` computes
    them for one study (exact where (k!)^(S−1) ≤ permutations, else that many seeded draws, at most the analysis's
    DRAWS for the generalising test), and the generalising test's p (`generalising_p`) under CROSSED."""
    test = generalising_p(ranks, seen, exact_limit=permutations, draws=min(permutations, DRAWS), seed=seed)
    totals = (ranks if seen is None else np.where(seen[..., None], ranks, 0.0)).sum(axis=1)
    n_sets, k = totals.shape[-2:]
    result = {SCAN_LEVEL: test["p_scan_level"], CROSSED: test["p"]}
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
    """Power of the scan-level tests and the generalising test at each number of sets per structure (design.readers
    readers, the design's completeness); the studies of s sets are the first s sets of the largest simulated
    studies."""
    largest = design.resized(sets=max(sets))
    rng = np.random.default_rng(seed)
    ranks, seen = simulate_ranks(largest, n_studies, rng), simulate_seen(largest, n_studies, rng)
    curve: dict[str, list[float]] = {}
    for count in sets:
        pvalues = scan_level_pvalues(
            ranks[:, :, :count], list(design.effects), design.adjust, seed=seed, seen=seen[:, :, :count]
        )
        for name, p in pvalues.items():
            curve.setdefault(name, []).append(float(np.mean(p <= ALPHA)))
    return curve


def generalising_grid(
    design: Design, readers: list[int], sets: list[int], n_studies: int = 1000, seed: int = 0, alpha: float = ALPHA
) -> np.ndarray:
    """Power of the generalising test (CROSSED) at every (readers, sets) pair, shape (len(readers), len(sets)); the
    studies of r readers × s sets are the first r readers and s sets of the largest simulated studies, with the
    design's reader, scan and completeness model."""
    largest = design.resized(readers=max(readers), sets=max(sets))
    rng = np.random.default_rng(seed)
    ranks, seen = simulate_ranks(largest, n_studies, rng), simulate_seen(largest, n_studies, rng)
    grid = np.zeros((len(readers), len(sets)))
    for j, count in enumerate(sets):
        if count < units_needed(len(design.effects), alpha):
            continue
        for i, people in enumerate(readers):
            if people < units_needed(len(design.effects), alpha):
                continue
            test = generalising_p(
                ranks[:, :people, :count],
                seen[:, :people, :count],
                exact_limit=SIMULATION_PERMUTATIONS,
                draws=SIMULATION_PERMUTATIONS,
                seed=seed,
            )
            grid[i, j] = float(np.mean(test["p"] <= alpha))
    return grid


def cheapest_plan(
    grid: np.ndarray, readers: list[int], sets: list[int], goal: float = GOAL
) -> tuple[int, int, float] | None:
    """(readers, sets, power) of the design reaching the goal with the fewest rankings per structure (readers × sets;
    ties: fewer sets), None when no design in the grid does."""
    reached = [
        (people * count, count, people, float(grid[i, j]))
        for i, people in enumerate(readers)
        for j, count in enumerate(sets)
        if grid[i, j] >= goal
    ]
    if not reached:
        return None
    _, count, people, value = min(reached)
    return people, count, value


def plan_rationale(
    design: Design,
    plan: tuple[int, int, float] | None,
    readers: list[int],
    sets: list[int],
    n_studies: int,
    seed: int,
    alpha: float = ALPHA,
    goal: float = GOAL,
) -> str:
    """One paragraph a plan's `rationale` can quote: the effect and variance assumed, how it was simulated, and the
    readers and sets the generalising test needs for the goal (or that none in the range does)."""
    effects = ", ".join(f"{source} {value:+.2f}" for source, value in design.effects.items())
    assumed = (
        f"Assuming latent source effects {effects} (in SDs of one reader's look), a reader-preference SD of "
        f"{design.reader_sd:g}, a shared scan-quality SD of {design.scan_sd:g}"
        + (f" and each reader ranking {design.complete:.0%} of the sets" if design.complete < 1 else "")
        + f", {n_studies} simulated studies per design (seed {seed}) of the test the analysis reports for readers "
        f"and scans like these (Clark's min F′, the scan-level and the reader-level permutation tests, all must "
        f"reject) at "
        f"α = {alpha:g}"
    )
    needed = units_needed(len(design.effects), alpha)
    if plan is None:
        return (
            f"{assumed}: no design of up to {max(readers)} readers × {max(sets)} sets per structure reaches "
            f"{goal:.0%} power; fewer than {needed} sets or readers cannot support the claim at all."
        )
    people, count, value = plan
    return (
        f"{assumed}: {people} readers ranking {count} sets per structure reach {value:.0%} power (goal {goal:.0%}; "
        f"the design with the fewest rankings per structure that does); fewer than {needed} sets or readers "
        "cannot support the claim at all."
    )


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
