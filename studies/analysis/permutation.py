"""Scan-level inference: do the generators differ, with scans (and readers) as samples?

All readers rank the same few scans per source, so Friedman's and Wilcoxon's p answer "do these scans differ".
Here the source labels are permuted among the scans of each set, the same permutation for every reader of that set
(the scan carries the source), so the reference distribution is that of other scans from the same generators.
"""

from __future__ import annotations

import math
from itertools import combinations, permutations, product

import numpy as np
import pandas as pd

EXACT_LIMIT = 10**6
DRAWS = 20_000
_CHUNK = 4_000_000  # elements of one batch of permuted rank sums
_TOLERANCE = 1e-9


def set_rank_sums(
    data: pd.DataFrame, sources: list[str], set: str = "set", source: str = "source", rank: str = "rank"
) -> tuple[np.ndarray, int]:
    """(T, n): T[s, j] the rank sum of source j over the readers of set s (sets in order of appearance), n blocks."""
    table = data.pivot_table(index=set, columns=source, values=rank, aggfunc="sum", sort=False)
    counts = data.groupby(set, sort=False)[source].size() // len(sources)
    return table.reindex(columns=sources).to_numpy(dtype=float), int(counts.sum())


def permutation_plan(sets: int, k: int, exact_limit: int = EXACT_LIMIT) -> tuple[bool, int]:
    """(exact, permutations) of the global test: all (k!)^S relabellings when (k!)^(S−1) ≤ exact_limit, else draws.

    Relabelling every set by the same permutation leaves Σ R_j² unchanged, so enumerating (k!)^(S−1) relabellings
    with the first set fixed gives exactly the p of all (k!)^S.
    """
    group = math.factorial(k)
    return (group ** (sets - 1) <= exact_limit, group**sets)


def global_test(totals: np.ndarray, exact: bool, draws: int = DRAWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Observed Σ_j R_j² and its permutation p, vectorised over the leading axes of totals (..., S, k).

    R_j = Σ_s T[s, π_s(j)]. Exact: every relabelling of sets 2..S (set 1 fixed, see `permutation_plan`); otherwise
    `draws` seeded uniform random relabellings of every set, the same ones for every leading index.
    Returns (observed, p), both of the leading shape; computed in batches so memory stays bounded.
    """
    totals = np.asarray(totals, dtype=float)
    lead, (n_sets, k) = totals.shape[:-2], totals.shape[-2:]
    flat = totals.reshape(-1, n_sets, k)
    observed = (flat.sum(axis=1) ** 2).sum(axis=-1)
    if exact:
        orders = np.array(list(permutations(range(k))))
        size = len(orders) ** (n_sets - 1)
    else:
        orders = np.argsort(np.random.default_rng(seed).random((draws, n_sets, k)), axis=-1)
        size = draws
    p = np.empty(len(flat))
    batch = max(1, _CHUNK // (size * k))
    for start in range(0, len(flat), batch):
        part = flat[start : start + batch]
        if exact:
            sums = part[:, :1, :]
            for s in range(1, n_sets):
                sums = (sums[:, :, None, :] + part[:, s][:, orders][:, None, :, :]).reshape(len(part), -1, k)
        else:
            sums = sum(part[:, s][:, orders[:, s]] for s in range(n_sets))
        p[start : start + batch] = permutation_p(observed[start : start + batch], (sums**2).sum(axis=-1), exact)
    return observed.reshape(lead), p.reshape(lead)


def pair_test(differences: np.ndarray, exact: bool, draws: int = DRAWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Observed |Σ_s D_s| and its p over a/b swaps per set (all 2^S, or seeded draws), for D (..., S)."""
    differences = np.asarray(differences, dtype=float)
    n_sets = differences.shape[-1]
    if exact:
        signs = np.array(list(product((1.0, -1.0), repeat=n_sets)))
    else:
        signs = np.random.default_rng(seed).choice((1.0, -1.0), size=(draws, n_sets))
    observed = np.abs(differences.sum(axis=-1))
    return observed, permutation_p(observed, np.abs(differences @ signs.T), exact)


def permutation_p(observed: np.ndarray, null: np.ndarray, exact: bool) -> np.ndarray:
    """Share of the null (last axis) at or above the observed value (exact), or (b + 1) / (M + 1) for M random
    draws (Phipson & Smyth 2010, so a Monte Carlo p is never 0); a relative tolerance absorbs float rounding."""
    observed = np.asarray(observed)[..., None]
    at_least = (null >= observed - _TOLERANCE * np.maximum(1.0, np.abs(observed))).sum(axis=-1)
    return at_least / null.shape[-1] if exact else (at_least + 1) / (null.shape[-1] + 1)


def scan_permutation_test(
    data: pd.DataFrame,
    set: str = "set",
    source: str = "source",
    rank: str = "rank",
    *,
    exact_limit: int = EXACT_LIMIT,
    draws: int = DRAWS,
    seed: int = 0,
) -> pd.DataFrame:
    r"""Scan-level permutation test that the sources differ, from complete rankings in long form (one row per scan).

    Statistic :math:`\sum_j R_j^2`, R_j the rank sum of source j over all readers and sets (equivalent to Friedman's
    χ² under these relabellings, since n, k and the ties are fixed). Null: within each set the source labels are
    exchangeable among its scans, one relabelling shared by every reader of the set (a randomisation test over
    scans; Good 2005, Permutation, Parametric and Bootstrap Tests of Hypotheses, ch. 3 and 6). Exact when
    (k!)^(S−1) ≤ exact_limit, else `draws` seeded Monte Carlo relabellings with standard error √(p(1 − p)/M).

    Returns one row: method, exact, permutations, statistic, p, mc_se (0 when exact), sets.
    """
    sources = list(dict.fromkeys(data[source]))
    totals, _ = set_rank_sums(data, sources, set, source, rank)
    exact, size = permutation_plan(len(totals), len(sources), exact_limit)
    observed, p = global_test(totals, exact, draws, seed)
    p = float(p)
    return pd.DataFrame(
        [
            {
                "method": "scan-level permutation (labels permuted among the scans of each set)",
                "exact": exact,
                "permutations": size if exact else draws,
                "statistic": float(observed),
                "p": p,
                "mc_se": 0.0 if exact else math.sqrt(p * (1 - p) / draws),
                "sets": len(totals),
            }
        ]
    )


def scan_permutation_pairs(
    data: pd.DataFrame,
    set: str = "set",
    source: str = "source",
    rank: str = "rank",
    *,
    exact_limit: int = EXACT_LIMIT,
    draws: int = DRAWS,
    seed: int = 0,
    sources: list[str] | None = None,
) -> pd.DataFrame:
    r"""Scan-level permutation test of every pair of sources: a, b, difference, p, exact, permutations, min_p.

    Statistic :math:`|\bar r_a - \bar r_b|`, the difference of mean ranks over all rankings; null: in each set the
    a and b labels are swapped or not (one choice per set, shared by its readers), all 2^S choices when
    2^S ≤ exact_limit, else `draws` seeded draws. With S sets no exact p is below 2 / 2^S (the observed labelling
    and its full swap always tie), so 4 sets cannot give p < 0.125 however strong the effect. Pairs follow the
    order of `sources` (by default that of first appearance).
    """
    sources = list(dict.fromkeys(data[source])) if sources is None else sources
    totals, blocks = set_rank_sums(data, sources, set, source, rank)
    n_sets = len(totals)
    exact = 2**n_sets <= exact_limit
    rows = []
    for (i, a), (j, b) in combinations(enumerate(sources), 2):
        _, p = pair_test(totals[:, i] - totals[:, j], exact, draws, seed)
        rows.append(
            {
                "a": a,
                "b": b,
                "difference": float((totals[:, i] - totals[:, j]).sum() / blocks),
                "p": float(p),
                "exact": exact,
                "permutations": 2**n_sets if exact else draws,
                "min_p": 2 / 2**n_sets if exact else 1 / (draws + 1),
            }
        )
    return pd.DataFrame(rows, columns=["a", "b", "difference", "p", "exact", "permutations", "min_p"])
