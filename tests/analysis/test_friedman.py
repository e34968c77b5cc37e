"""Friedman's test against published values and independent implementations."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from studies.analysis.friedman import friedman, friedman_statistic, friedman_test

# R's friedman.test help page (Hollander & Wolfe 1973, p. 140): times of 22 players for 3 ways of rounding first base.
ROUNDING_TIMES = np.array(
    [
        [5.40, 5.50, 5.55],
        [5.85, 5.70, 5.75],
        [5.20, 5.60, 5.50],
        [5.55, 5.50, 5.40],
        [5.90, 5.85, 5.70],
        [5.45, 5.55, 5.60],
        [5.40, 5.40, 5.35],
        [5.45, 5.50, 5.35],
        [5.25, 5.15, 5.00],
        [5.85, 5.80, 5.70],
        [5.25, 5.20, 5.10],
        [5.65, 5.55, 5.45],
        [5.60, 5.35, 5.45],
        [5.05, 5.00, 4.95],
        [5.50, 5.50, 5.40],
        [5.45, 5.55, 5.50],
        [5.55, 5.55, 5.35],
        [5.45, 5.50, 5.55],
        [5.50, 5.45, 5.25],
        [5.65, 5.60, 5.40],
        [5.70, 5.65, 5.55],
        [6.30, 6.30, 6.25],
    ]
)

# Conover (1999), Practical Nonparametric Statistics, 3rd ed., Example 5.8.1: 12 homeowners rank 4 grasses, with ties.
GRASS = np.array(
    [
        [4, 3, 2, 1],
        [4, 2, 3, 1],
        [3, 1.5, 1.5, 4],
        [3, 1, 2, 4],
        [4, 2, 1, 3],
        [2, 2, 2, 4],
        [1, 3, 2, 4],
        [2, 4, 1, 3],
        [3.5, 1, 2, 3.5],
        [4, 1, 3, 2],
        [4, 2, 3, 1],
        [3.5, 1, 2, 3.5],
    ]
)


def test_it_reproduces_r_friedman_test_on_rounding_times():
    """R `friedman.test(RoundingTimes)`: Friedman chi-squared = 11.143, df = 2, p-value = 0.003805."""
    result = friedman(ROUNDING_TIMES)
    assert result["statistic"] == pytest.approx(11.143, abs=5e-4)
    assert result["df"] == 2
    assert result["p"] == pytest.approx(0.003805, abs=5e-7)


def test_it_reproduces_conovers_grass_example_with_tie_correction():
    """Conover (1999) Example 5.8.1: rank sums 38, 23.5, 24.5, 34; tie-corrected T1 = 8.0973, χ² p = 0.04404."""
    assert GRASS.sum(axis=0).tolist() == [38, 23.5, 24.5, 34]
    result = friedman(GRASS)
    assert result["statistic"] == pytest.approx(8.0973, abs=5e-5)
    assert result["df"] == 3
    assert result["p"] == pytest.approx(0.04404, abs=5e-6)


def test_it_agrees_with_scipy_and_pingouin_on_random_tied_data():
    """Independent implementations: scipy.stats.friedmanchisquare and pingouin.friedman (both tie-corrected)."""
    import pandas as pd
    import pingouin

    values = np.random.default_rng(3).integers(1, 4, (15, 4)).astype(float)
    result = friedman(values)
    expected = stats.friedmanchisquare(*values.T)
    long = pd.DataFrame(values).reset_index().melt(id_vars="index", var_name="source", value_name="rank")
    by_pingouin = pingouin.friedman(long, dv="rank", within="source", subject="index")
    assert result["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert result["p"] == pytest.approx(expected.pvalue, rel=1e-10)
    assert result["statistic"] == pytest.approx(by_pingouin["Q"].iloc[0], rel=1e-10)


def test_the_vectorised_statistic_equals_the_one_study_function():
    """friedman_statistic over a stack of studies gives each study's own statistic (used by the power simulation)."""
    stack = np.random.default_rng(4).integers(1, 5, (50, 9, 4)).astype(float)
    vectorised = friedman_statistic(stack)
    assert vectorised.shape == (50,)
    assert vectorised == pytest.approx([friedman(study)["statistic"] for study in stack], rel=1e-12)


def test_blocks_that_are_all_ties_give_a_statistic_of_zero():
    """No block orders anything: no evidence of a difference (scipy would divide by zero)."""
    result = friedman(np.ones((5, 3)))
    assert result["statistic"] == 0.0
    assert result["p"] == 1.0


def test_it_refuses_a_table_with_a_single_treatment():
    with pytest.raises(ValueError, match="two treatments"):
        friedman(np.ones((5, 1)))


def test_the_long_form_test_gives_the_statistic_p_and_w_of_the_table():
    """friedman_test(data, dv, within, subject) in pingouin's shape equals friedman() and W = χ²/(n(k − 1))."""
    long = pd.DataFrame(GRASS).rename_axis(index="block", columns="source").stack().rename("rank").reset_index()
    row = friedman_test(long).iloc[0]
    expected = friedman(GRASS)
    assert (row["statistic"], row["df"], row["p"]) == pytest.approx((expected["statistic"], 3, expected["p"]))
    assert row["w"] == pytest.approx(expected["statistic"] / (len(GRASS) * 3))
