"""Realism rating: per-source scores, the scan-level permutation comparison and agreement, against independent
computations (Krippendorff's published example, pingouin, full enumeration)."""

from itertools import permutations

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest

from studies.analysis.rating import (
    agreement,
    crossed_f,
    labellings,
    permutation_comparison,
    rating_summary,
    scan_means,
)
from studies.analysis.tables import validate_ratings
from tests.analysis.conftest import make_ratings

NA = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with missing data: 4 observers
# (rows) × 12 units (columns); published α: nominal 0.743, ordinal 0.815, interval 0.849.
KRIPPENDORFF = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
        [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
    ]
)


def coincidence_alpha(data: np.ndarray, level: str) -> float:
    """Krippendorff's alpha from the coincidence matrix, written out independently of the package:
    o_ck = Σ_u (pairs c–k in unit u) / (m_u − 1), α = 1 − (n − 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck."""
    values = np.unique(data[~np.isnan(data)])
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in data.T:
        coded = unit[~np.isnan(unit)]
        if len(coded) < 2:
            continue
        for i, j in permutations(range(len(coded)), 2):
            o[index[coded[i]], index[coded[j]]] += 1 / (len(coded) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = np.zeros_like(o)
    for c in range(len(values)):
        for k in range(len(values)):
            if level == "nominal":
                delta[c, k] = float(c != k)
            elif level == "interval":
                delta[c, k] = (values[c] - values[k]) ** 2
            else:
                low, high = min(c, k), max(c, k)
                delta[c, k] = (n_c[low : high + 1].sum() - (n_c[low] + n_c[high]) / 2) ** 2
    return 1 - (n - 1) * (o * delta).sum() / (np.outer(n_c, n_c) * delta).sum()


@pytest.mark.parametrize("level, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorffs_example_gives_his_published_alpha_here_and_in_the_package(level, published):
    ours = coincidence_alpha(KRIPPENDORFF, level)
    assert ours == pytest.approx(published, abs=5e-4)
    assert krippendorff.alpha(reliability_data=KRIPPENDORFF, level_of_measurement=level) == pytest.approx(ours)


def _long(data: np.ndarray) -> pd.DataFrame:
    """Ratings rows of a readers × units matrix (NaN: not rated), on a 5-point scale."""
    return validate_ratings(
        pd.DataFrame(
            [
                {"reader": f"o{r}", "volume": f"u{u:02d}", "source": "real", "scale": "5", "score": str(int(v))}
                for (r, u), v in np.ndenumerate(data)
                if not np.isnan(v)
            ]
        )
    )


def test_the_summarys_ordinal_alpha_is_krippendorffs_on_his_example():
    assert agreement(_long(KRIPPENDORFF), 5)["krippendorff_alpha"] == pytest.approx(
        coincidence_alpha(KRIPPENDORFF, "ordinal")
    )


def test_the_icc_is_pingouins_two_way_random_absolute_agreement_over_the_complete_scans():
    ratings = validate_ratings(make_ratings())
    ratings = ratings[~((ratings["reader"] == "reader-01") & (ratings["volume"] == "rate-real-1"))]
    result = agreement(ratings, 5)
    complete = ratings[ratings["volume"] != "rate-real-1"]
    table = pingouin.intraclass_corr(complete, targets="volume", raters="reader", ratings="score").set_index("Type")
    assert result["icc"] == pytest.approx(table.loc["ICC(A,1)", "ICC"])
    assert result["icc_average"] == pytest.approx(table.loc["ICC(A,k)", "ICC"])
    assert result["icc_ci95"] == pytest.approx(list(table.loc["ICC(A,1)", "CI95"]))
    assert (result["icc_scans"], result["icc_scans_left_out"]) == (11, 1)


def test_per_source_scores_and_counts():
    ratings = validate_ratings(make_ratings())
    summary = rating_summary(ratings, ["real", "medsyn", "ha-gan"])
    for source, result in summary["by_source"].items():
        scores = ratings.loc[ratings["source"] == source, "score"]
        assert result["mean"] == pytest.approx(scores.mean()) and result["median"] == scores.median()
        assert result["sd"] == pytest.approx(scores.std()) and result["n"] == len(scores) == 24
        assert result["counts"] == {str(s): int((scores == s).sum()) for s in range(1, 6)}
    assert list(summary["by_source"]) == ["real", "medsyn", "ha-gan"]


def test_every_distinct_labelling_is_enumerated_once():
    codes = np.array([0, 0, 1, 1, 1, 2])
    shuffled, exact = labellings(codes, draws=10, seed=0)
    assert exact and len(shuffled) == 60  # 6! / (2! 3! 1!)
    assert len({tuple(row) for row in shuffled}) == 60
    assert all(sorted(row) == sorted(codes) for row in shuffled)


def test_the_exact_permutation_p_counts_the_labellings_at_least_as_spread_as_the_observed():
    """Six scans, two sources: all 20 splits by hand; the observed split is the most extreme (and its mirror)."""
    scans = pd.DataFrame({"volume": list("abcdef"), "source": ["x"] * 3 + ["y"] * 3, "mean": [5, 4.5, 4, 2, 1.5, 1]})
    result = permutation_comparison(scans, ["x", "y"])
    assert result["exact"] and result["permutations"] == 20
    assert result["p"] == pytest.approx(2 / 20)
    assert result["pairwise"][0]["p"] == pytest.approx(2 / 20)
    assert result["pairwise"][0]["difference"] == pytest.approx(3.0)


def test_scan_means_average_each_scans_readers():
    ratings = validate_ratings(make_ratings(readers=3))
    means = scan_means(ratings).set_index("volume")
    rows = ratings[ratings["volume"] == "rate-medsyn-2"]
    assert means.loc["rate-medsyn-2", "mean"] == pytest.approx(rows["score"].mean())
    assert means.loc["rate-medsyn-2", "readers"] == 3


def test_the_quasi_f_is_built_from_the_split_plot_mean_squares_of_an_ordinary_anova():
    """Mean squares from statsmodels' sequential ANOVA of score ~ source + reader + source:reader + source:scan."""
    ols = pytest.importorskip("statsmodels.formula.api").ols
    anova_lm = pytest.importorskip("statsmodels.stats.anova").anova_lm
    rng = np.random.default_rng(8)
    y = rng.integers(1, 6, (5, 3, 4)).astype(float)  # readers × sources × scans
    long = pd.DataFrame(
        [{"reader": r, "source": j, "scan": s, "score": y[r, j, s]} for (r, j, s) in np.ndindex(y.shape)]
    )
    table = anova_lm(ols("score ~ C(source) + C(reader) + C(source):C(reader) + C(source):C(scan)", long).fit())
    ms = table["sum_sq"] / table["df"]
    ms_j, ms_rj, ms_s, ms_rs = (
        ms["C(source)"],
        ms["C(source):C(reader)"],
        ms["C(source):C(scan)"],
        ms["Residual"],
    )
    denominator = max(ms_rj + ms_s - ms_rs, ms_rj, ms_s)
    f, df1, _, p = crossed_f(y)
    assert f == pytest.approx(ms_j / denominator) and df1 == 2
    assert 0 <= p <= 1


def test_the_summary_runs_the_quasi_f_over_complete_balanced_scans_or_says_why_not():
    ratings = validate_ratings(make_ratings())
    crossed = rating_summary(ratings, ["real", "medsyn", "ha-gan"])["comparison"]["crossed"]
    assert (crossed["readers"], crossed["scans_per_source"]) == (6, 4)
    short = ratings[~((ratings["reader"] == "reader-01") & (ratings["volume"] == "rate-real-1"))]
    skipped = rating_summary(short, ["real", "medsyn", "ha-gan"])["comparison"]["crossed"]
    assert "real 3, medsyn 4, ha-gan 4" in skipped["skipped"]
