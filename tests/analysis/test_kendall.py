"""Kendall's coefficient of concordance W."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from studies.analysis.kendall import interpret_w, kendall_w, reader_agreement
from tests.analysis.test_friedman import GRASS


def w_from_sum_of_squares(ranks: np.ndarray) -> float:
    """Independent formula: W = 12 S / (m² (n³ − n) − m Σ(t³ − t)), S = Σ (R_j − mean R)² (Kendall 1948)."""
    m, n = ranks.shape
    rank_sums = ranks.sum(axis=0)
    s = ((rank_sums - rank_sums.mean()) ** 2).sum()
    ties = sum(t**3 - t for row in ranks for t in np.unique(row, return_counts=True)[1])
    return 12 * s / (m**2 * (n**3 - n) - m * ties)


def test_it_reproduces_siegels_textbook_example():
    """Siegel (1956), Nonparametric Statistics for the Behavioral Sciences, §9 (Kendall's W): three executives rank
    six job applicants; s = 25.5, W = 0.16."""
    ranks = np.array([[1, 6, 3, 2, 5, 4], [1, 5, 6, 4, 2, 3], [6, 3, 2, 5, 4, 1]])
    result = kendall_w(ranks)
    assert result["w"] == pytest.approx(12 * 25.5 / (9 * (6**3 - 6)), rel=1e-12)
    assert round(result["w"], 2) == 0.16


def test_it_equals_the_tie_corrected_sum_of_squares_formula_on_conovers_tied_data():
    """W = χ²_F / (n (k − 1)) matches 12 S / (m²(n³ − n) − m Σ(t³ − t)) on Conover's (1999) grass ranks."""
    assert kendall_w(GRASS)["w"] == pytest.approx(w_from_sum_of_squares(GRASS), rel=1e-12)


def test_its_p_value_is_friedmans_chi_square_p():
    """W's test is Friedman's (Legendre 2005): p = P(χ²_{k−1} ≥ m (k − 1) W)."""
    ranks = np.random.default_rng(5).permuted(np.tile(np.arange(1.0, 5.0), (10, 1)), axis=1)
    result = kendall_w(ranks)
    assert result["p"] == pytest.approx(stats.chi2.sf(10 * 3 * result["w"], 3), rel=1e-12)


def test_identical_rankings_give_perfect_concordance():
    assert kendall_w(np.tile([1, 2, 3, 4], (6, 1)))["w"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("w", "words"),
    [
        (0.05, "very weak"),
        (0.3, "weak"),
        (0.413, "weak"),
        (0.528, "moderate"),
        (0.7, "strong"),
        (0.95, "unusually strong"),
    ],
)
def test_it_reads_w_on_schmidts_scale(w, words):
    """Schmidt (1997): .1 very weak, .3 weak, .5 moderate, .7 strong, .9 unusually strong. The paper's W = 0.528 is
    moderate on it; its W = 0.413, which the paper calls moderate, is weak."""
    assert interpret_w(w) == words


def latin_square_rankings(readers: int = 5) -> pd.DataFrame:
    """Four sets whose readers all agree, each set ordering the sources by another row of a Latin square."""
    square = [[1, 2, 3, 4], [2, 3, 4, 1], [3, 4, 1, 2], [4, 1, 2, 3]]
    return pd.DataFrame(
        [
            {"reader": f"r{r}", "set": f"s{s}", "source": source, "rank": ranks[j]}
            for r in range(readers)
            for s, ranks in enumerate(square)
            for j, source in enumerate("abcd")
        ]
    )


def test_readers_who_agree_within_every_set_of_a_latin_square_have_w_one_per_set_while_pooled_w_is_zero():
    rankings = latin_square_rankings()
    agreement = reader_agreement(rankings)
    assert agreement["w"].tolist() == pytest.approx([1.0] * 4) and agreement["readers"].tolist() == [5] * 4
    pooled = rankings.pivot(index=["reader", "set"], columns="source", values="rank").to_numpy()
    assert kendall_w(pooled)["w"] == pytest.approx(0.0, abs=1e-12)


def test_reader_agreement_of_a_set_equals_the_sum_of_squares_formula_over_its_readers():
    rankings = latin_square_rankings(6)
    rng = np.random.default_rng(2)
    rankings["rank"] = rankings.groupby(["reader", "set"])["rank"].transform(lambda r: rng.permutation(r.to_numpy()))
    agreement = reader_agreement(rankings).set_index("set")
    for set_id, rows in rankings.groupby("set"):
        table = rows.pivot(index="reader", columns="source", values="rank").to_numpy(dtype=float)
        assert agreement.loc[set_id, "w"] == pytest.approx(w_from_sum_of_squares(table), rel=1e-12)


def test_a_set_ranked_by_one_reader_has_no_agreement_to_measure():
    rankings = latin_square_rankings(1)
    assert reader_agreement(rankings)["w"].isna().all()
