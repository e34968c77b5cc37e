"""The crossed readers × scans quasi-F test, against an analysis of variance fitted by statsmodels."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm

from studies.analysis.crossed import crossed_f, crossed_test
from studies.analysis.power import Design, simulate_ranks


def long_form(ranks: np.ndarray) -> pd.DataFrame:
    """(R, S, k) ranks as rankings rows."""
    readers, sets, k = ranks.shape
    return pd.DataFrame(
        [
            {"reader": f"r{r}", "set": f"s{s}", "source": f"g{j}", "rank": ranks[r, s, j]}
            for r in range(readers)
            for s in range(sets)
            for j in range(k)
        ]
    )


def test_the_mean_squares_and_f_equal_those_of_a_three_way_anova_without_replication():
    ranks = simulate_ranks(
        Design({"a": 0.5, "b": 0, "c": 0, "d": -0.3}, 6, 4, scan_sd=0.7), 1, np.random.default_rng(2)
    )[0]
    table = long_form(ranks)
    fit = smf.ols("rank ~ C(source) * C(reader) + C(source) * C(set) + C(reader) * C(set)", data=table).fit()
    anova = anova_lm(fit)
    ms = anova["sum_sq"] / anova["df"]
    ms_j, ms_jr, ms_js = ms["C(source)"], ms["C(source):C(reader)"], ms["C(source):C(set)"]
    ms_jrs = ms["Residual"]
    denominator = max(ms_jr + ms_js - ms_jrs, ms_jr, ms_js)
    f, df1, df2, p = crossed_f(ranks)
    assert f == pytest.approx(ms_j / denominator, rel=1e-9) and df1 == 3
    if denominator == ms_jr + ms_js - ms_jrs:
        expected_df2 = denominator**2 / (ms_jr**2 / 15 + ms_js**2 / 9 + ms_jrs**2 / 45)
        assert df2 == pytest.approx(expected_df2, rel=1e-9)
    assert p == pytest.approx(stats.f.sf(f, 3, df2), rel=1e-9)


def test_the_table_uses_only_readers_who_ranked_every_set():
    ranks = simulate_ranks(Design(dict.fromkeys("abcd", 0.0), 5, 3), 1, np.random.default_rng(4))[0]
    table = long_form(ranks)
    partial = table[~((table["reader"] == "r4") & (table["set"] == "s2"))]
    result = crossed_test(partial).iloc[0]
    assert (result["readers"], result["sets"]) == (4, 3)
    assert result["p"] == pytest.approx(crossed_f(ranks[:4])[3])


def test_one_order_on_every_set_by_every_reader_is_the_strongest_evidence_and_ties_are_none():
    assert crossed_f(np.tile(np.array([1.0, 2.0, 3.0, 4.0]), (3, 2, 1)))[3] == 0.0
    assert crossed_f(np.full((3, 2, 4), 2.5))[3] == 1.0
