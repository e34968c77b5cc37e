"""Which pairs of sources differ: Wilcoxon signed-rank tests on paired block ranks, Bonferroni-corrected."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import scikit_posthocs
from scipy import stats

from studies.analysis.adjust import adjust_p
from studies.analysis.friedman import wide
from studies.errors import StudyError

POSTHOCS = ("conover", "nemenyi")


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Wilcoxon signed-rank test of paired samples along the last axis, vectorised: (statistic, p).

    Gives, row by row, what scipy's `wilcoxon(a, b)` gives with its defaults for that one row
    (Wilcoxon 1945; zero_method="wilcox": zero differences dropped, as R's `wilcox.test` does):
    no ties or zeros and n ≤ 50 pairs: the exact null distribution; ties or zeros and n ≤ 13: all 2ⁿ sign flips
    (scipy runs `permutation_test`; enumerated here in numpy, because scipy decides the method once per call, not
    per row, and its permutation test takes ~0.1 s a row, too slow for the power simulation); otherwise the normal
    approximation with tie correction, no continuity correction. Where every difference is zero there is no
    evidence of a difference: statistic 0 and p = 1 (scipy returns NaN there). Where they disagree we follow
    scipy, as the issue asks: R's `wilcox.test` uses the normal approximation with a continuity correction as soon
    as there are ties, so with tied ranks its p-values differ slightly from these.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    shape, n = d.shape[:-1], d.shape[-1]
    d = d.reshape(-1, n)
    statistic, p = np.zeros(len(d)), np.ones(len(d))
    nonzero = d != 0
    differs = nonzero.any(axis=1)
    if differs.any():
        statistic[differs] = stats.wilcoxon(d[differs], axis=-1, method="asymptotic").statistic
        magnitude = np.sort(np.where(nonzero, np.abs(d), np.nan), axis=1)
        tied = (np.diff(magnitude, axis=1) == 0).any(axis=1)
        clean = differs & ~tied & nonzero.all(axis=1)
        if n > 50:
            method = np.full(len(d), "asymptotic")
        else:
            method = np.where(clean, "exact", "flips" if n <= 13 else "asymptotic")
        for name in ("exact", "asymptotic"):
            rows = differs & (method == name)
            if rows.any():
                p[rows] = stats.wilcoxon(d[rows], axis=-1, method=name).pvalue
        rows = differs & (method == "flips")
        if rows.any():
            p[rows] = _sign_flip_p(d[rows])
    return statistic.reshape(shape), p.reshape(shape)


def _sign_flip_p(d: np.ndarray) -> np.ndarray:
    """Two-sided p of the signed-rank sum W+ over all 2ⁿ sign flips of each row of d (rows, n ≤ 13).

    Zeros are dropped from the ranking and contribute 0 to W+; p = min(1, 2 · min(P(W+ ≤ w), P(W+ ≥ w))),
    with scipy's relative tolerance of 100 ε when comparing, as `scipy.stats.permutation_test` computes it.
    """
    rows, n = d.shape
    magnitude = np.where(d != 0, np.abs(d), np.nan)
    ranks = np.nan_to_num(stats.rankdata(magnitude, axis=1, nan_policy="omit"))
    observed = (ranks * (d > 0)).sum(axis=1)
    flips = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    null = ranks @ flips.T
    gamma = np.abs(observed) * np.finfo(float).eps * 100
    less = (null <= (observed + gamma)[:, None]).mean(axis=1)
    greater = (null >= (observed - gamma)[:, None]).mean(axis=1)
    return np.clip(2 * np.minimum(less, greater), 0.0, 1.0)


def pairwise_wilcoxon(
    data: pd.DataFrame, dv: str = "rank", within: str = "source", subject: str = "block"
) -> pd.DataFrame:
    """Every pair of sources of long data (one row per block and source), in pingouin's shape
    (`pingouin.pairwise_tests(data, dv, within, subject, parametric=False)`): a, b, statistic, p, p_bonferroni.

    Two-sided Wilcoxon signed-rank test of the paired ranks (see `wilcoxon_p`); m = k (k − 1) / 2 comparisons,
    p_bonferroni = min(1, p · m) (Dunn 1961; `studies.analysis.adjust.adjust_p`).
    """
    ranks = wide(data, dv, within, subject)
    pairs = list(combinations(ranks.columns, 2))
    rows = []
    for a, b in pairs:
        statistic, p = wilcoxon_p(ranks[a].to_numpy(), ranks[b].to_numpy())
        rows.append({"a": a, "b": b, "statistic": float(statistic), "p": float(p)})
    table = pd.DataFrame(rows, columns=["a", "b", "statistic", "p"])
    table["p_bonferroni"] = adjust_p(table["p"].to_numpy(), "bonferroni")
    return table


def check_posthoc(method: str) -> str:
    """The method name if it is an offered post-hoc test; otherwise a StudyError that names the offered ones."""
    if method not in POSTHOCS:
        raise StudyError(f"post-hoc test must be one of {', '.join(POSTHOCS)}, not {method!r}")
    return method


def pairwise_posthoc(ranks: pd.DataFrame, method: str) -> pd.DataFrame:
    """Conover's or Nemenyi's post-hoc test for Friedman (scikit-posthocs), as a tidy a, b, p_adjusted table.

    Conover (1999, §5.8, eq. 5.8.5) with Bonferroni-adjusted p; Nemenyi (1963) via the studentized range, which
    already controls the family-wise error rate (no further adjustment). Where Conover's test is undefined (one
    block: no degrees of freedom; or zero error variance, as when readers agree perfectly) it returns NaN.
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # the undefined cases above: NaN, reported as such
        if check_posthoc(method) == "conover":
            matrix = scikit_posthocs.posthoc_conover_friedman(a=ranks, p_adjust="bonferroni")
        else:
            matrix = scikit_posthocs.posthoc_nemenyi_friedman(a=ranks)
    return pd.DataFrame(
        [
            {"a": a, "b": b, "method": method, "p_adjusted": float(matrix.loc[a, b])}
            for a, b in combinations(ranks.columns, 2)
        ]
    )
