"""Type-I error of the rating comparison and of the AUC test against chance, by simulation (as in
`python -m bench analysis-validity`, smaller): null studies with reader and scan random effects."""

import numpy as np
import pytest

from bench.analysis_validity import DISCRIMINATION_SCENARIOS, RATING_SCENARIOS, discrimination_pvalues, rating_pvalues

STUDIES = 2000
BAND = (0.035, 0.065)
"""α = 0.05 ± three Monte Carlo standard errors of 2000 studies (0.0049)."""


@pytest.mark.parametrize(
    "scenario", ["null, pure", "null, reader severity 1.0 + scan 0.5", "null, scan quality SD 1.0"]
)
def test_both_rating_comparisons_hold_alpha_with_reader_and_scan_effects(scenario):
    """The permutation test is close to α; the quasi-F is conservative where the variance components it guards
    against are absent (1.6 % of pure-noise null studies), never liberal."""
    p = rating_pvalues(STUDIES, 6, 5, RATING_SCENARIOS[scenario], np.random.default_rng(31))
    assert BAND[0] <= np.mean(p["scan-level permutation"] <= 0.05) <= BAND[1]
    assert np.mean(p["quasi-F (readers, scans random)"] <= 0.05) <= BAND[1]


def test_the_quasi_f_holds_alpha_where_readers_prefer_a_source_which_the_permutation_test_counts_as_a_difference():
    p = rating_pvalues(
        STUDIES, 6, 5, RATING_SCENARIOS["null, reader preference SD 0.3 per source"], np.random.default_rng(35)
    )
    assert np.mean(p["quasi-F (readers, scans random)"] <= 0.05) <= BAND[1]


@pytest.mark.parametrize(
    "scenario", ["null, pure", "null, reader bias 0.5 + scan 0.5", "null, reader skill SD 0.5 around chance + scan 0.5"]
)
def test_the_auc_test_against_chance_holds_alpha_with_reader_and_scan_effects(scenario):
    p = discrimination_pvalues(STUDIES, 6, 20, DISCRIMINATION_SCENARIOS[scenario], np.random.default_rng(32))[
        "OR test, Hillis df"
    ]
    assert BAND[0] <= np.mean(p <= 0.05) <= BAND[1]


def test_an_effect_is_found_more_often_than_alpha():
    rating = rating_pvalues(
        200, 6, 5, RATING_SCENARIOS["effect 0.5/step, reader 1.0 + scan 0.5"], np.random.default_rng(33)
    )
    told = discrimination_pvalues(
        200, 6, 20, DISCRIMINATION_SCENARIOS["effect 0.5, reader 0.5 + scan 0.5"], np.random.default_rng(34)
    )
    assert all(np.mean(p <= 0.05) > 0.15 for p in [*rating.values(), *told.values()])
