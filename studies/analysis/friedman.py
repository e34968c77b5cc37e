"""Friedman's rank test for k related samples, with the usual correction for ties."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def within_block_ranks(values: np.ndarray) -> np.ndarray:
    """Rank each block (last axis) from 1 to k, ties getting their mid-rank; shape (..., n, k) is kept."""
    return stats.rankdata(np.asarray(values, dtype=float), axis=-1)


def friedman_statistic(values: np.ndarray) -> np.ndarray:
    r"""Tie-corrected Friedman χ² of blocks × treatments data; vectorised over any leading axes.

    values : array (..., n, k), n blocks of k treatments (raw values or ranks; ranked again within each block).

    .. math::
        \chi^2_F = \frac{\frac{12}{n k (k+1)} \sum_j R_j^2 - 3 n (k+1)}
                        {1 - \frac{\sum_i \sum_t (t^3 - t)}{n k (k^2 - 1)}}

    with R_j the rank sum of treatment j and t the sizes of tie groups within block i (Friedman 1937;
    Conover 1999, Practical Nonparametric Statistics, §5.8; identical to R's `friedman.test`, scipy's
    `friedmanchisquare` and pingouin's `friedman`). Returns 0 where every block is one big tie.
    """
    ranks = within_block_ranks(values)
    n, k = ranks.shape[-2], ranks.shape[-1]
    rank_sums = ranks.sum(axis=-2)
    uncorrected = 12.0 / (n * k * (k + 1)) * (rank_sums**2).sum(axis=-1) - 3.0 * n * (k + 1)
    # Each of a tie group's t members adds t² − 1, so the sum over members is Σ over groups of t³ − t.
    tie_sizes = (ranks[..., :, None] == ranks[..., None, :]).sum(axis=-1)
    tie_terms = (tie_sizes**2 - 1).sum(axis=(-2, -1))
    correction = 1.0 - tie_terms / (n * k * (k * k - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(correction > 0, uncorrected / np.where(correction > 0, correction, 1.0), 0.0)


def friedman_p(statistic: np.ndarray | float, k: int) -> np.ndarray | float:
    """Upper-tail p of χ²_F on k − 1 degrees of freedom (the large-sample approximation R and scipy use)."""
    return stats.chi2.sf(statistic, k - 1)


def friedman(values: np.ndarray) -> dict:
    """Friedman test of an (n blocks × k treatments) table: {"statistic", "df", "p"} (see `friedman_statistic`)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 2:
        raise ValueError("the Friedman test needs a table of at least one block and two treatments")
    k = values.shape[1]
    statistic = float(friedman_statistic(values))
    return {"statistic": statistic, "df": k - 1, "p": float(friedman_p(statistic, k))}


def wide(data: pd.DataFrame, dv: str, within: str, subject: str) -> pd.DataFrame:
    """A long table (one row per subject and condition) as subjects × conditions, conditions in order of appearance."""
    table = data.pivot(index=subject, columns=within, values=dv)
    return table.reindex(columns=list(dict.fromkeys(data[within]))).astype(float)


def friedman_test(data: pd.DataFrame, dv: str = "rank", within: str = "source", subject: str = "block") -> pd.DataFrame:
    r"""Friedman test and Kendall's W of long data, in pingouin's shape (`pingouin.friedman(data, dv, within,
    subject)`): one row with n (blocks), k, statistic (tie-corrected χ²_F, see `friedman_statistic`), df, p, w.

    .. math:: W = \frac{\chi^2_F}{n (k - 1)}

    (Friedman 1937; Kendall & Babington Smith 1939; Conover 1999, §5.8). Every subject needs every condition.
    """
    values = wide(data, dv, within, subject).to_numpy()
    result = friedman(values)
    n, k = values.shape
    return pd.DataFrame([{"n": n, "k": k, **result, "w": result["statistic"] / (n * (k - 1))}])
