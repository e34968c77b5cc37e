"""Kendall's coefficient of concordance W: how far the readers agree on the order of the sources."""

from __future__ import annotations

import numpy as np

from studies.analysis.friedman import friedman

INTERPRETATION = ((0.1, "no"), (0.3, "weak"), (0.6, "moderate"), (1.01, "strong"))


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
    """Words for W after the common reading (Schmidt 1997; as the paper calls W = 0.528 moderate):
    no/weak/moderate/strong.
    """
    return next(label for upper, label in INTERPRETATION if w < upper)
