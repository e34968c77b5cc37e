"""The statistics of a prompt experiment: the one-tailed Welch two-sample t-test (unequal variances) that the
positive prompt's mean is greater, `scipy.stats.ttest_ind(positive, negative, alternative="greater",
equal_var=False)`, and each pair's summary.

Departure from the paper, which names a one-tailed two-sample t-test without saying which: Welch's, because a prompt
may change the spread as well as the mean. It ignores the pairing by seed, which makes it conservative when volumes
sharing a seed are alike.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import ttest_ind

from generator.prompt_pairs import PromptPair

SIDES = ("positive", "negative")
ALPHA = 0.05
TEST = "one-tailed Welch two-sample t-test, H1: mean(positive) > mean(negative)"


def welch_greater(positive: Sequence[float], negative: Sequence[float]) -> dict[str, float | None]:
    """t, df and one-tailed p of Welch's test that mean(positive) > mean(negative) (None where undefined).

    t = (x̄₁ − x̄₂) / √(s₁²/n₁ + s₂²/n₂); df = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁−1) + (s₂²/n₂)²/(n₂−1))
    (Welch–Satterthwaite); p = P(T_df ≥ t). Welch, B. L. (1947), Biometrika 34, 28–35.
    """
    result = ttest_ind(positive, negative, alternative="greater", equal_var=False)
    if _finite(result.statistic) is None:  # both samples constant (or too small): no test, whatever df scipy reports
        return {"t": None, "df": None, "p": None}
    return {"t": float(result.statistic), "df": _finite(result.df), "p": _finite(result.pvalue)}


def spread(values: Sequence[float]) -> dict:
    """Mean, sample sd (None for one value) and n of some measured volumes."""
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return {"mean": float(np.mean(values)), "sd": sd, "n": len(values)}


def summarise_pair(pair: PromptPair, rows: list[dict]) -> dict:
    """Mean ± sd per prompt, their difference and the Welch test of one pair's result rows."""
    values = {side: [r["value"] for r in rows if r["pair"] == pair.name and r["side"] == side] for side in SIDES}
    test = welch_greater(values["positive"], values["negative"])
    sides = {side: {"prompt": getattr(pair, side), **spread(values[side])} for side in SIDES}
    difference = sides["positive"]["mean"] - sides["negative"]["mean"]
    return {
        "pair": pair.name,
        "measure": pair.measure,
        **sides,
        "difference": difference,
        "test": TEST,
        **test,
        "significant": test["p"] is not None and test["p"] < ALPHA,
    }


def _finite(value: float) -> float | None:
    """A float, or None for NaN and infinities (JSON has neither; the t-test gives NaN when both sds are 0)."""
    value = float(value)
    return value if math.isfinite(value) else None
