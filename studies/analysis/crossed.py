"""Readers and scans both random: may the report say the generators differ for readers and sets like these?

The scan-level permutation test treats the readers as fixed: a reader's lasting preference for one generator's look
is, to it, a real difference (for these readers). Friedman's and Wilcoxon's tests hold the scans fixed too. For the
claim about generators as other readers would see them on other scans, readers and sets are both samples, and no
relabelling of the data is exact (Clark 1973, "The language-as-fixed-effect fallacy", J. Verb. Learn. Verb. Behav.
12: readers are its subjects, ranking sets its items).

Chosen by simulation (`python -m bench analysis-validity`; README, 'The analysis'), the test is an
intersection-union test (Berger 1982, Technometrics 24(4)): the sources differ for readers and sets like these only
where all three of

- Clark's min F′, by-reader and by-set analyses of variance of the ranks combined, F1·F2/(F1 + F2), readers and sets
  random,
- the scan-level permutation test (labels permuted among the scans of each set, every reader of the set alike;
  exact where scan quality is all there is), and
- the reader-level permutation test (labels permuted within each reader, the same for every set the reader ranked;
  exact where reader preference is all there is)

reject; its p is the largest of the three. Each guards another's blind side. Min F′ alone, a normal-theory test, is
liberal with few sets when scan quality dominates (9–12 % of null studies at α = 0.05 with 2 sets, 6–7 % with 4),
because a set's mean ranking is then close to one of the k! orders, far from normal, and likewise with 3 readers
when reader preference dominates (6–8 %); the scan-level test is exact in the first case but rejects up to 69 % of
null studies when readers prefer different generators, the reader-level test exact in the second. The
quasi-F of the three-way analysis of variance (`crossed_f`, the multi-reader multi-case analogue of Dorfman, Berbaum &
Metz 1992) was liberal with 2–4 sets (6.3–8.3 % with 2 sets) and needs every reader to have ranked every set; a
crossed-random-effects mixed model has the same normal-theory problem with 2–4 sets and takes seconds per study.
Both analyses of the chosen test use every ranking: a reader who ranked only some sets enters the by-reader analysis
with the mean of the sets they ranked, and every ranking of a set enters its set's mean.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from studies.analysis.permutation import DRAWS, EXACT_LIMIT, global_test, permutation_plan

METHOD = (
    "intersection-union of Clark's min F′ (by-reader and by-set ANOVA of the ranks, readers and sets random, "
    "every ranking used), the scan-level and the reader-level permutation tests; p the largest of the three"
)
CLAIM = "the sources differ for readers and sets like these (readers and scans both a sample), not only for these"
MIN_UNITS = 2


def crossed_f(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Quasi-F test that the k sources differ, with readers and sets random; vectorised over leading axes.

    Not the test the analysis reports (see the module's docstring): kept as the benchmark's reference of what was
    replaced and why. ranks: (..., R, S, k), every reader ranked every set. With the three-way mean squares,

    .. math::
        F' = \frac{MS_J}{D},\quad D = \max(MS_{JR} + MS_{JS} - MS_{JRS},\ MS_{JR},\ MS_{JS}),

    whose expectations are E[MS_J] = σ²_e + S σ²_JR + R σ²_JS + R S θ_J and E[MS_JR + MS_JS − MS_JRS] =
    σ²_e + S σ²_JR + R σ²_JS (Satterthwaite 1946; Winer 1971, §5.15). Denominator degrees of freedom by
    Satterthwaite's approximation for the combination used. Returns (F, df1, df2, p).
    """
    y = np.asarray(ranks, dtype=float)
    n_readers, n_sets, k = y.shape[-3:]
    m = y.mean(axis=(-3, -2, -1), keepdims=True)
    source = y.mean(axis=(-3, -2), keepdims=True)
    reader = y.mean(axis=(-2, -1), keepdims=True)
    set_ = y.mean(axis=(-3, -1), keepdims=True)
    reader_source = y.mean(axis=-2, keepdims=True)
    set_source = y.mean(axis=-3, keepdims=True)
    cell = y.mean(axis=-1, keepdims=True)
    df_j, df_jr, df_js = k - 1, (k - 1) * (n_readers - 1), (k - 1) * (n_sets - 1)
    df_jrs = df_jr * (n_sets - 1)
    ms_j = n_readers * n_sets * ((source - m) ** 2).sum(axis=(-3, -2, -1)) / df_j
    ms_jr = n_sets * ((reader_source - reader - source + m) ** 2).sum(axis=(-3, -2, -1)) / df_jr
    ms_js = n_readers * ((set_source - set_ - source + m) ** 2).sum(axis=(-3, -2, -1)) / df_js
    residual = y - reader_source - set_source - cell + reader + set_ + source - m
    ms_jrs = (residual**2).sum(axis=(-3, -2, -1)) / df_jrs
    combined = ms_jr + ms_js - ms_jrs
    denominator = np.maximum(combined, np.maximum(ms_jr, ms_js))
    with np.errstate(invalid="ignore", divide="ignore"):
        satterthwaite = combined**2 / (ms_jr**2 / df_jr + ms_js**2 / df_js + ms_jrs**2 / df_jrs)
        df2 = np.where(
            denominator == combined, satterthwaite, np.where(denominator == ms_jr, float(df_jr), float(df_js))
        )
        f = np.where(denominator > 0, ms_j / np.where(denominator > 0, denominator, 1.0), np.where(ms_j > 0, np.inf, 0))
    p = np.where(denominator > 0, stats.f.sf(f, df_j, np.maximum(df2, 1.0)), np.where(ms_j > 0, 0.0, 1.0))
    return f, np.full_like(f, df_j), df2, p


def _by_group(y: np.ndarray, seen: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(MS_J, MS_J×group, groups) of the two-way ANOVA of the group means (groups: readers, axis=-2 averaged, or
    sets, axis=-3 averaged), each group's mean over the rankings it has; groups without rankings left out."""
    count = seen.sum(axis=axis)
    means = np.where(seen[..., None], y, 0.0).sum(axis=axis - 1) / np.maximum(count, 1)[..., None]
    present = count > 0
    groups = present.sum(axis=-1)
    k = y.shape[-1]
    source = np.where(present[..., None], means, 0.0).sum(axis=-2) / np.maximum(groups, 1)[..., None]
    grand = source.mean(axis=-1, keepdims=True)
    ms_j = groups * ((source - grand) ** 2).sum(axis=-1) / (k - 1)
    residual = means - means.mean(axis=-1, keepdims=True) - source[..., None, :] + grand[..., None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        ms_jg = (np.where(present[..., None], residual, 0.0) ** 2).sum(axis=(-2, -1)) / ((k - 1) * (groups - 1))
    return ms_j, ms_jg, groups


def min_f(ranks: np.ndarray, seen: np.ndarray | None = None) -> dict[str, np.ndarray]:
    r"""Clark's (1973) min F′ that the k sources differ, readers and sets random; vectorised over leading axes.

    ranks: (..., R, S, k), seen: (..., R, S) which rankings exist (default all; unseen ranks are ignored). F1 is the
    two-way (reader × source) ANOVA F of each reader's mean ranks over the sets they ranked, on
    n1 = (k − 1)(R − 1) df; F2 that of each set's mean ranks over its readers, on n2 = (k − 1)(S − 1) df;

    .. math::
        \min F' = \frac{F_1 F_2}{F_1 + F_2},\qquad
        \nu = \frac{(F_1 + F_2)^2}{F_1^2 / n_2 + F_2^2 / n_1},

    referred to F(k − 1, ν). Balanced, min F′ = MS_J / (MS_JR + MS_JS), whose denominator exceeds the quasi-F's
    by MS_JRS, so it errs on the safe side. Returns F1, F2, F (min F′), df1, df2 (ν), p, readers, sets.
    """
    y = np.asarray(ranks, dtype=float)
    seen = np.ones(y.shape[:-1], dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    y = np.where(seen[..., None], y, 0.0)
    k = y.shape[-1]
    ms_j1, ms_jr, readers = _by_group(y, seen, axis=-1)
    ms_j2, ms_js, sets = _by_group(y, seen, axis=-2)
    n1, n2 = (k - 1) * (readers - 1), (k - 1) * (sets - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inverse1 = np.where(ms_j1 > 0, ms_jr / ms_j1, np.inf)
        inverse2 = np.where(ms_j2 > 0, ms_js / ms_j2, np.inf)
        total = inverse1 + inverse2
        f = np.where(total > 0, 1 / total, np.inf)
        df2 = np.where(total > 0, total**2 / (inverse1**2 / n1 + inverse2**2 / n2), np.maximum(n1, n2))
        df2 = np.where(np.isfinite(total), df2, np.nan)
        p = np.where(np.isinf(total), 1.0, np.where(total > 0, stats.f.sf(f, k - 1, np.maximum(df2, 1e-9)), 0.0))
        f1, f2 = 1 / inverse1, 1 / inverse2
    return {
        "F1": f1,
        "F2": f2,
        "F": np.where(np.isinf(total), 0.0, f),
        "df1": np.full(f.shape, float(k - 1)),
        "df2": df2,
        "p": p,
        "readers": readers,
        "sets": sets,
    }


def smallest_p(units: int, k: int) -> float:
    """The smallest p the exact permutation test over `units` sets (or readers) of k sources can give,
    1 / (k!)^(n−1): what the design allows, whether the analysis enumerates or draws."""
    return 1 / math.factorial(k) ** (units - 1)


def units_needed(k: int, alpha: float) -> int:
    """The fewest sets, and the fewest readers (at least 2 each), at which the generalising test can reach
    p ≤ alpha with k sources: below, its permutation tests cannot."""
    units = MIN_UNITS
    while smallest_p(units, k) > alpha:
        units += 1
    return units


def decline_reason(readers: int, sets: int, k: int, alpha: float) -> str | None:
    """Why this design cannot support a claim about readers and sets like these, or None where it can."""
    needed = units_needed(k, alpha)
    for count, what in ((sets, "sets per structure"), (readers, "readers")):
        if count < needed:
            return (
                f"{count} {what.split()[0].rstrip('s')}(s) with rankings of {k} sources cannot support a claim about "
                f"readers and scans like these: no p below {smallest_p(max(count, 1), k):.3g} is possible; a study "
                f"needs at least {needed} {what} for α = {alpha:g}"
            )
    return None


def generalising_p(
    ranks: np.ndarray,
    seen: np.ndarray | None = None,
    *,
    exact_limit: int = EXACT_LIMIT,
    draws: int = DRAWS,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The test of the module's docstring, vectorised over the leading axes of ranks (..., R, S, k): `min_f`'s
    entries, p_min_f, p_scan_level (`global_test` of the set rank sums over every reader of the set), p_reader_level
    (the same of each reader's rank sums over the sets they ranked) and p, the largest."""
    y = np.asarray(ranks, dtype=float)
    seen = np.ones(y.shape[:-1], dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    result = min_f(y, seen)
    y = np.where(seen[..., None], y, 0.0)
    n_readers, n_sets, k = y.shape[-3:]
    result["p_min_f"] = result["p"]
    for key, totals, units in (("p_scan_level", y.sum(axis=-3), n_sets), ("p_reader_level", y.sum(axis=-2), n_readers)):
        exact, _ = permutation_plan(units, k, exact_limit)
        result[key] = global_test(totals, exact, draws, seed)[1]
    result["p"] = np.maximum(result["p_min_f"], np.maximum(result["p_scan_level"], result["p_reader_level"]))
    return result


def crossed_ranks(
    data: pd.DataFrame, reader: str = "reader", set: str = "set", source: str = "source", rank: str = "rank"
) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[str]]:
    """(ranks (R, S, k), seen (R, S), readers, sets, sources) of complete rankings in long form: every reader and
    every set with a ranking, whichever sets each reader ranked (unseen cells NaN)."""
    sources = list(dict.fromkeys(data[source]))
    readers = list(dict.fromkeys(data[reader]))
    sets = list(dict.fromkeys(data[set]))
    table = data.pivot_table(index=[reader, set], columns=source, values=rank)
    table = table.reindex(pd.MultiIndex.from_product([readers, sets]), columns=sources)
    y = table.to_numpy(dtype=float).reshape(len(readers), len(sets), len(sources))
    return y, ~np.isnan(y).any(axis=-1), readers, sets, sources


def crossed_test(
    data: pd.DataFrame,
    alpha: float,
    *,
    exact_limit: int = EXACT_LIMIT,
    draws: int = DRAWS,
    seed: int = 0,
    reader: str = "reader",
    set: str = "set",
    source: str = "source",
    rank: str = "rank",
) -> dict:
    """The generalising test of all sources (module docstring) from complete rankings in long form, as one tidy dict.

    Keys: method, claim (what a p ≤ alpha supports), F (min F′; None when infinite), df1, df2, p, p_min_f,
    p_scan_level, p_reader_level, F_readers, F_sets, readers, sets, rankings, alpha, sets_needed, readers_needed,
    declined. Where the design cannot
    support the claim (`decline_reason`), `declined` says why and the numbers are None: never absent.
    Only the test of all sources is offered: applied to pairs the old quasi-F rejected 8 % of null studies.
    """
    y, seen, readers, sets, sources = crossed_ranks(data, reader, set, source, rank)
    k = len(sources)
    result = {
        "method": METHOD,
        "claim": CLAIM,
        "F": None,
        "df1": k - 1,
        "df2": None,
        "p": None,
        "p_min_f": None,
        "p_scan_level": None,
        "p_reader_level": None,
        "F_readers": None,
        "F_sets": None,
        "readers": len(readers),
        "sets": len(sets),
        "rankings": int(seen.sum()),
        "alpha": alpha,
        "sets_needed": units_needed(max(k, 2), alpha),
        "readers_needed": units_needed(max(k, 2), alpha),
        "declined": None,
    }
    if k < 2:
        return {**result, "declined": f"{k} source(s) ranked: nothing to compare"}
    reason = decline_reason(len(readers), len(sets), k, alpha)
    if reason:
        return {**result, "declined": reason}
    test = generalising_p(y, seen, exact_limit=exact_limit, draws=draws, seed=seed)
    return {
        **result,
        "F": _finite(test["F"]),
        "df2": _finite(test["df2"]),
        "p": float(test["p"]),
        "p_min_f": float(test["p_min_f"]),
        "p_scan_level": float(test["p_scan_level"]),
        "p_reader_level": float(test["p_reader_level"]),
        "F_readers": _finite(test["F1"]),
        "F_sets": _finite(test["F2"]),
    }


def _finite(value: np.ndarray) -> float | None:
    """A plain float, None where infinite or undefined (no variation left to divide by, or none to test)."""
    return float(value) if np.isfinite(value) else None
