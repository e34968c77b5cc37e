"""Pairwise Wilcoxon signed-rank tests with Bonferroni correction, and the scikit-posthocs alternatives."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from studies.analysis.pairwise import pairwise_posthoc, pairwise_wilcoxon, wilcoxon_p
from studies.errors import StudyError


@pytest.mark.parametrize(
    ("n", "rows"), [(1, 30), (3, 30), (8, 10), (13, 3), (14, 30), (30, 30), (50, 30), (51, 30), (70, 30)]
)
def test_the_vectorised_wilcoxon_equals_scipy_row_by_row(n, rows):
    """Every row's statistic and p equal scipy.stats.wilcoxon's defaults for that row alone (exact, all sign flips
    for small tied samples, or the tie-corrected normal approximation). scipy takes ~1.5 s a row at n = 13."""
    rng = np.random.default_rng(n)
    a = rng.integers(1, 5, (rows, n)).astype(float)
    b = rng.integers(1, 5, (rows, n)).astype(float)
    a[:1], b[:1] = rng.permutation(n) + 1.0, np.arange(n) + 0.5
    statistic, p = wilcoxon_p(a, b)
    for row in range(len(a)):
        if (a[row] == b[row]).all():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = stats.wilcoxon(a[row], b[row])
        assert statistic[row] == expected.statistic
        assert p[row] == pytest.approx(expected.pvalue, rel=1e-12)


def test_pairs_that_never_differ_get_p_one():
    """All differences zero: no evidence of a difference (scipy returns NaN)."""
    statistic, p = wilcoxon_p(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    assert statistic == 0.0 and p == 1.0


def test_every_pair_is_tested_and_corrected_with_bonferroni_not_holm_sidak():
    """m = k (k − 1) / 2 comparisons; statsmodels' multipletests default (Holm–Šidák) would give other values."""
    ranks = pd.DataFrame(
        np.random.default_rng(6).permuted(np.tile(np.arange(1.0, 5.0), (16, 1)), axis=1),
        columns=["real", "medsyn", "ha-gan", "medical-diffusion"],
    )
    long = ranks.rename_axis(index="block", columns="source").stack().rename("rank").reset_index()
    table = pairwise_wilcoxon(long)
    assert len(table) == 6 and table[["a", "b"]].values.tolist()[0] == ["real", "medsyn"]
    assert table["p_bonferroni"].tolist() == pytest.approx(np.minimum(1, table["p"] * 6).tolist())
    holm_sidak = multipletests(table["p"])[1]
    assert not np.allclose(holm_sidak, table["p_bonferroni"])


def test_it_offers_conover_and_nemenyi_post_hoc_tests():
    """scikit-posthocs, called with keywords; Conover's is Bonferroni-adjusted, so never below the raw test."""
    ranks = pd.DataFrame(np.tile([1.0, 2.0, 3.0], (12, 1)), columns=["a", "b", "c"])
    ranks.iloc[::3] = [2.0, 1.0, 3.0]
    for method in ("conover", "nemenyi"):
        table = pairwise_posthoc(ranks, method)
        assert list(zip(table["a"], table["b"])) == [("a", "b"), ("a", "c"), ("b", "c")]
        assert table["p_adjusted"].between(0, 1).all()
        assert table.set_index(["a", "b"]).loc[("a", "c"), "p_adjusted"] < 0.05


def test_it_rejects_an_unknown_post_hoc_test():
    with pytest.raises(StudyError, match="conover, nemenyi"):
        pairwise_posthoc(pd.DataFrame({"a": [1.0], "b": [2.0]}), "tukey")


def test_it_reproduces_r_wilcox_test_on_the_depression_example():
    """R `wilcox.test(x, y, paired = TRUE)` help page (Hollander & Wolfe 1973, p. 29, Hamilton depression scale):
    V = 40, one-sided p = 0.01953, so two-sided p = 0.03906; the reported statistic is min(V+, V−) = 5."""
    x = np.array([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30])
    y = np.array([0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29])
    statistic, p = wilcoxon_p(x, y)
    assert statistic == 5.0
    assert p == pytest.approx(0.03906, abs=5e-6)
