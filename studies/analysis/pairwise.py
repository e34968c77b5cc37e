"""Which pairs of sources differ: Wilcoxon signed-rank tests on paired block ranks, Bonferroni-corrected."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import scikit_posthocs
from scipy import stats
from statsmodels.stats.multitest import multipletests

from studies.errors import StudyError

POSTHOCS = ("conover", "nemenyi")


def bonferroni(p: np.ndarray, m: int) -> np.ndarray:
    """Bonferroni-adjusted p = min(1, p · m) for m comparisons (Dunn 1961); NaN (no test possible) stays NaN."""
    return np.minimum(1.0, np.asarray(p, dtype=float) * m)


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Wilcoxon signed-rank test of paired samples along the last axis, vectorised: (statistic, p).

    scipy's defaults (zero_method="wilcox": zero differences dropped, as in R's `wilcox.test`; method="auto":
    exact null distribution for up to 50 non-zero pairs, normal approximation beyond). Where every difference
    is zero there is no evidence of a difference: statistic 0 and p = 1 (scipy returns NaN there).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    differs = (a != b).any(axis=-1)
    statistic = np.zeros(a.shape[:-1])
    p = np.ones(a.shape[:-1])
    if differs.any():
        result = stats.wilcoxon(a[differs], b[differs], axis=-1)
        statistic[differs], p[differs] = result.statistic, result.pvalue
    return statistic, p


def pairwise_wilcoxon(ranks: pd.DataFrame) -> pd.DataFrame:
    """Every pair of sources (columns of a blocks × sources rank table): a, b, statistic, p, p_bonferroni.

    m = k (k − 1) / 2 comparisons; the Bonferroni correction is statsmodels' `multipletests(method="bonferroni")`
    (named explicitly: its default is Holm–Šidák), equal to min(1, p · m).
    """
    pairs = list(combinations(ranks.columns, 2))
    rows = []
    for a, b in pairs:
        statistic, p = wilcoxon_p(ranks[a].to_numpy(), ranks[b].to_numpy())
        rows.append({"a": a, "b": b, "statistic": float(statistic), "p": float(p)})
    table = pd.DataFrame(rows, columns=["a", "b", "statistic", "p"])
    table["p_bonferroni"] = multipletests(table["p"], method="bonferroni")[1] if len(table) else []
    return table


def pairwise_posthoc(ranks: pd.DataFrame, method: str) -> pd.DataFrame:
    """Conover's or Nemenyi's post-hoc test for Friedman (scikit-posthocs), as a tidy a, b, p_adjusted table.

    Conover (1999, §5.8, eq. 5.8.5) with Bonferroni-adjusted p; Nemenyi (1963) via the studentized range, which
    already controls the family-wise error rate (no further adjustment).
    """
    if method == "conover":
        matrix = scikit_posthocs.posthoc_conover_friedman(a=ranks, p_adjust="bonferroni")
    elif method == "nemenyi":
        matrix = scikit_posthocs.posthoc_nemenyi_friedman(a=ranks)
    else:
        raise StudyError(f"post-hoc test must be one of {', '.join(POSTHOCS)}, not {method!r}")
    return pd.DataFrame([{"a": a, "b": b, "method": method, "p_adjusted": float(matrix.loc[a, b])}
                         for a, b in combinations(ranks.columns, 2)])
