"""Group-sequential boundaries: Lan–DeMets alpha spending with O'Brien–Fleming-like boundaries.

Lan & DeMets (1983), Biometrika 70:659–663: at information fraction t the design has spent
:math:`\\alpha(t) = 2\\,(1 - \\Phi(z_{1-\\alpha'/2} / \\sqrt t))` of each side's :math:`\\alpha'` (two-sided:
:math:`\\alpha' = \\alpha/2` per side, Jennison & Turnbull 2000, §7.2). The boundary :math:`c_k` of look k solves
:math:`P(|Z_1| < c_1, \\dots, |Z_{k-1}| < c_{k-1}, |Z_k| \\ge c_k) = \\alpha(t_k) - \\alpha(t_{k-1})` under the null,
where the sequential z statistics are multivariate normal with :math:`\\mathrm{corr}(Z_i, Z_j) = \\sqrt{t_i / t_j}`
(i ≤ j; canonical joint distribution). Looks taken at other fractions than planned get boundaries for the fractions
actually reached; the final look spends what is left.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

PRECISION = 1e-7
"""Absolute error allowed in each look's rectangle probability (Genz's algorithm, seeded)."""
SEED = 20261205


def spent(fraction: float, alpha: float, sided: str = "two-sided") -> float:
    """α spent by information fraction t (both sides together when two-sided), O'Brien–Fleming-like."""
    if fraction <= 0:
        return 0.0
    side = alpha / 2 if sided == "two-sided" else alpha
    per_side = 2 * (1 - stats.norm.cdf(stats.norm.ppf(1 - side / 2) / np.sqrt(min(fraction, 1.0))))
    return float(per_side * (2 if sided == "two-sided" else 1))


def boundaries(fractions: list[float], alpha: float, sided: str = "two-sided") -> list[float]:
    """The z boundary of each look at these increasing information fractions (the last normally 1)."""
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or len(t) == 0 or np.any(np.diff(t) <= 0) or t[0] <= 0 or t[-1] > 1:
        raise ValueError(f"information fractions must increase within (0, 1], not {fractions}")
    found: list[float] = []
    for k in range(len(t)):
        increment = spent(t[k], alpha, sided) - spent(t[k - 1] if k else 0.0, alpha, sided)
        before = _continue(t[:k], found, sided)

        def excess(c: float) -> float:
            return before - _continue(t[: k + 1], [*found, c], sided) - increment

        found.append(float(optimize.brentq(excess, 0.0, 40.0, xtol=1e-10)))
    return found


def nominal_alpha(boundary: float, sided: str = "two-sided") -> float:
    """The p-value threshold that a z boundary means for a test of that sidedness."""
    tail = 1 - stats.norm.cdf(boundary)
    return float(2 * tail if sided == "two-sided" else tail)


def _continue(t: np.ndarray, limits: list[float], sided: str) -> float:
    """P(no boundary crossed at any of these looks) under the null."""
    if len(t) == 0:
        return 1.0
    upper = np.asarray(limits, dtype=float)
    lower = -upper if sided == "two-sided" else np.full_like(upper, -np.inf)
    if len(t) == 1:
        return float(stats.norm.cdf(upper[0]) - stats.norm.cdf(lower[0]))
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    return float(
        stats.multivariate_normal.cdf(
            upper, cov=cov, lower_limit=lower, abseps=PRECISION, releps=0, maxpts=200_000 * len(t), rng=SEED
        )
    )
