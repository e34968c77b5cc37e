"""Kendall's coefficient of concordance W: how far rankings agree on the order of the sources.

Readers agree only where they rank the same scans, so agreement among readers is W within each set
(`reader_agreement`); W over all (reader, set) rankings pooled measures how consistently sources are ordered across
different scans, which is a property of the scans as much as of the readers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.analysis.friedman import friedman

SCALE = ((0.3, "very weak"), (0.5, "weak"), (0.7, "moderate"), (0.9, "strong"), (np.inf, "unusually strong"))
"""Schmidt (1997, "Managing Delphi surveys using nonparametric statistical techniques", Decision Sciences
28(3), 763–774) reads W = .1 as very weak, .3 weak, .5 moderate, .7 strong and .9 unusually strong agreement; a W
gets the word of the highest of these points it reaches, and below .3 "very weak". (Landis & Koch's bands are for
kappa, not W.)"""


def kendall_w(values: np.ndarray) -> dict:
    r"""Tie-corrected Kendall's W of an (n raters/blocks × k objects) table, tested with Friedman's p: {"w", "p"}.

    .. math:: W = \frac{\chi^2_F}{n (k - 1)}

    with χ²_F the tie-corrected Friedman statistic, which equals Kendall's
    W = 12 S / (n² (k³ − k) − n Σ (t³ − t)), S the sum of squared deviations of the rank sums from their mean
    (Kendall & Babington Smith 1939; Siegel & Castellan 1988, §9.4; Legendre 2005, J. Agric. Biol. Environ. Stat.).
    The p-value is Friedman's, since the two tests are the same test.
    """
    result = friedman(values)
    n, k = np.asarray(values).shape
    return {"w": result["statistic"] / (n * (k - 1)), "p": result["p"]}


def interpret_w(w: float) -> str:
    """Schmidt's (1997) word for W (see `SCALE`): below .3 very weak, then weak, moderate (.5, as the paper calls
    W = 0.528), strong (.7) and unusually strong (.9)."""
    return next(label for upper, label in SCALE if w < upper)


def reader_agreement(
    data: pd.DataFrame, reader: str = "reader", set: str = "set", source: str = "source", rank: str = "rank"
) -> pd.DataFrame:
    """Kendall's W across the readers of each set (they rank the same scans), from complete rankings in long form.

    Returns one row per set: set, readers, w, p (tie-corrected, see `kendall_w`; Friedman's p with the readers as
    blocks). A set ranked by a single reader has no agreement to measure: w and p are NaN.
    """
    rows = []
    for set_id, rankings in data.groupby(set, sort=False):
        table = rankings.pivot(index=reader, columns=source, values=rank).astype(float)
        result = kendall_w(table.to_numpy()) if len(table) > 1 else {"w": np.nan, "p": np.nan}
        rows.append({"set": set_id, "readers": int(len(table)), "w": result["w"], "p": result["p"]})
    return pd.DataFrame(rows, columns=["set", "readers", "w", "p"])
