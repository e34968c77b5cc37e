"""Multiple-comparison adjustment of p-values: the one implementation every test and simulation uses."""

from __future__ import annotations

import numpy as np

from studies.errors import StudyError

METHODS = ("bonferroni", "holm", "none")
FAMILIES = ("structure", "all")


def adjust_p(p: np.ndarray, method: str = "bonferroni") -> np.ndarray:
    r"""Family-wise adjusted p-values of the m tests along the last axis, vectorised over any leading axes.

    Bonferroni (Dunn 1961): :math:`\tilde p_i = \min(1, m p_i)`.
    Holm (1979), step-down: with :math:`p_{(1)} \le \dots \le p_{(m)}`,
    :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1) p_{(j)})`.
    Both equal statsmodels' `multipletests(method=...)` row by row. NaN (no test possible) stays NaN and counts in m.
    "none" (a plan that corrects nothing) returns the p-values as they are.
    """
    check_method(method)
    p = np.asarray(p, dtype=float)
    m = p.shape[-1]
    if m == 0:
        return p.copy()
    if method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(np.where(np.isnan(p), np.inf, p), axis=-1, kind="stable")
    ordered = np.take_along_axis(p, order, axis=-1)
    stepped = np.minimum(1.0, ordered * (m - np.arange(m)))
    stepped = np.fmax.accumulate(stepped, axis=-1)
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, stepped, axis=-1)
    return np.where(np.isnan(p), np.nan, adjusted)


def check_method(method: str) -> str:
    """The method name if offered; otherwise a StudyError naming the offered ones."""
    if method not in METHODS:
        raise StudyError(f"adjustment must be one of {', '.join(METHODS)}, not {method!r}")
    return method


def check_family(family: str) -> str:
    """The family name if offered; otherwise a StudyError naming the offered ones."""
    if family not in FAMILIES:
        raise StudyError(f"family must be one of {', '.join(FAMILIES)}, not {family!r}")
    return family
