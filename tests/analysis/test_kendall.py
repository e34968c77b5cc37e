"""Kendall's coefficient of concordance W."""

import numpy as np
import pytest
from scipy import stats

from studies.analysis.kendall import interpret_w, kendall_w
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
    ("w", "words"), [(0.05, "no"), (0.2, "weak"), (0.528, "moderate"), (0.413, "moderate"), (0.8, "strong")]
)
def test_it_reads_w_as_the_paper_does(w, words):
    """The paper calls W = 0.528 and W = 0.413 moderate agreement."""
    assert interpret_w(w) == words
