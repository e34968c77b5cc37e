"""The generalising test (readers and sets random): min F′ against analyses of variance fitted by statsmodels, every
reader's rankings used, the decline rule, and its size in a small seeded simulation."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm

from studies.analysis.crossed import crossed_f, crossed_test, generalising_p, min_f, units_needed
from studies.analysis.permutation import scan_permutation_test
from studies.analysis.power import Design, simulate_ranks, simulate_seen


def long_form(ranks: np.ndarray, seen: np.ndarray | None = None) -> pd.DataFrame:
    """(R, S, k) ranks as rankings rows, the rankings of `seen` only."""
    readers, sets, k = ranks.shape
    return pd.DataFrame(
        [
            {"reader": f"r{r}", "set": f"s{s}", "source": f"g{j}", "rank": ranks[r, s, j]}
            for r in range(readers)
            for s in range(sets)
            for j in range(k)
            if seen is None or seen[r, s]
        ]
    )


def anova_f(table: pd.DataFrame, unit: str) -> tuple[float, float]:
    """(F, residual df) of source in the two-way ANOVA without replication of `unit`'s mean ranks."""
    means = table.groupby([unit, "source"], as_index=False)["rank"].mean()
    anova = anova_lm(smf.ols(f"rank ~ C(source) + C({unit})", data=means).fit())
    return float(anova.loc["C(source)", "F"]), float(anova.loc["Residual", "df"])


def study(readers=6, sets=4, complete=1.0, seed=2, **sd) -> tuple[np.ndarray, np.ndarray]:
    design = Design({"a": 0.5, "b": 0, "c": 0, "d": -0.3}, readers, sets, complete=complete, **sd)
    rng = np.random.default_rng(seed)
    return simulate_ranks(design, 1, rng)[0], simulate_seen(design, 1, rng)[0]


@pytest.mark.parametrize("complete", [1.0, 0.6])
def test_min_f_is_clarks_combination_of_the_by_reader_and_by_set_anovas(complete):
    ranks, seen = study(7, 5, complete, scan_sd=0.7, reader_sd=0.4)
    table = long_form(ranks, seen)
    f1, n1 = anova_f(table, "reader")
    f2, n2 = anova_f(table, "set")
    result = min_f(ranks, seen)
    expected = f1 * f2 / (f1 + f2)
    df = (f1 + f2) ** 2 / (f1**2 / n2 + f2**2 / n1)
    assert (float(result["F1"]), float(result["F2"])) == pytest.approx((f1, f2), rel=1e-9)
    assert float(result["F"]) == pytest.approx(expected, rel=1e-9)
    assert float(result["df2"]) == pytest.approx(df, rel=1e-9)
    assert float(result["p"]) == pytest.approx(stats.f.sf(expected, 3, df), rel=1e-9)


def test_balanced_min_f_divides_by_the_reader_and_set_interactions_of_the_three_way_anova():
    ranks, _ = study(6, 4, scan_sd=0.7)
    fit = smf.ols("rank ~ C(source) * C(reader) + C(source) * C(set) + C(reader) * C(set)", data=long_form(ranks))
    ms = (lambda a: a["sum_sq"] / a["df"])(anova_lm(fit.fit()))
    expected = ms["C(source)"] / (ms["C(source):C(reader)"] + ms["C(source):C(set)"])
    assert float(min_f(ranks)["F"]) == pytest.approx(expected, rel=1e-9)


def test_every_readers_rankings_are_used_and_p_is_the_largest_of_min_f_and_the_two_permutation_tests():
    ranks, seen = study(6, 4, 0.6, seed=5, scan_sd=0.5)
    assert not seen.all()
    table = long_form(ranks, seen)
    result = crossed_test(table, 0.05, seed=3)
    assert (result["readers"], result["sets"], result["rankings"]) == (6, 4, int(seen.sum()))
    scan = scan_permutation_test(table, seed=3).iloc[0]["p"]
    by_reader = scan_permutation_test(table, set="reader", seed=3).iloc[0]["p"]
    assert result["p_scan_level"] == pytest.approx(scan, rel=1e-12)
    assert result["p_reader_level"] == pytest.approx(by_reader, rel=1e-12)
    assert result["p_min_f"] == pytest.approx(float(min_f(ranks, seen)["p"]), rel=1e-12)
    assert result["p"] == max(result["p_min_f"], scan, by_reader) and result["declined"] is None


def test_it_declines_a_design_that_cannot_reach_alpha_and_says_how_many_sets_it_needs():
    assert [units_needed(k, 0.05) for k in (2, 3, 4)] == [6, 3, 2]
    assert units_needed(4, 0.01) == 3
    pair, _ = study(5, 4)
    two_sources = long_form(pair[..., :2].argsort(axis=-1).argsort(axis=-1) + 1.0)
    declined = crossed_test(two_sources, 0.05)
    assert declined["p"] is None and "at least 6 sets" in declined["declined"]
    assert crossed_test(long_form(np.tile(pair[..., :2].argsort(axis=-1).argsort(axis=-1) + 1.0, (1, 2, 1))), 0.05)[
        "declined"
    ].endswith("needs at least 6 readers for α = 0.05")
    one_set = crossed_test(long_form(pair[:, :1]), 0.05)
    assert one_set["p"] is None and "at least 2 sets" in one_set["declined"]
    one_reader = crossed_test(long_form(pair[:1]), 0.05)
    assert one_reader["p"] is None and "at least 2 readers" in one_reader["declined"]


def test_one_order_everywhere_is_the_strongest_evidence_and_ties_are_none():
    agreed = generalising_p(np.tile(np.array([1.0, 2.0, 3.0, 4.0]), (3, 3, 1)))
    assert float(agreed["p_min_f"]) == 0.0 and float(agreed["p"]) == pytest.approx(1 / 24**2)  # 3 sets, 3 readers
    assert float(generalising_p(np.full((3, 2, 4), 2.5))["p"]) == 1.0


def test_it_holds_its_size_where_the_old_quasi_f_and_min_f_alone_do_not():
    """400 seeded null studies of 15 readers × 2 sets, scan quality SD 2: min F′ alone rejects ≈ 10 %, the test at
    most α (exact scan-level bound); then 3 readers with strong preferences, and an incomplete design with both."""
    design = Design(dict.fromkeys("abcd", 0.0), 15, 2, scan_sd=2.0)
    rng = np.random.default_rng(8)
    ranks = simulate_ranks(design, 400, rng)
    test = generalising_p(ranks, exact_limit=100, draws=100)
    assert np.mean(test["p_min_f"] <= 0.05) > 0.07 and np.mean(test["p"] <= 0.05) <= 0.05
    preferring = Design(dict.fromkeys("abcd", 0.0), 3, 6, reader_sd=2.0, scan_sd=0.5)
    test = generalising_p(simulate_ranks(preferring, 400, rng), exact_limit=1000, draws=200)
    assert np.mean(test["p_min_f"] <= 0.05) > 0.06 and np.mean(test["p"] <= 0.05) <= 0.05
    incomplete = Design(dict.fromkeys("abcd", 0.0), 5, 4, reader_sd=1.0, scan_sd=1.0, complete=0.6)
    ranks, seen = simulate_ranks(incomplete, 400, rng), simulate_seen(incomplete, 400, rng)
    assert np.mean(generalising_p(ranks, seen, exact_limit=100, draws=200)["p"] <= 0.05) <= 0.06
    assert np.mean(crossed_f(simulate_ranks(design, 400, rng))[3] <= 0.05) > 0.06
