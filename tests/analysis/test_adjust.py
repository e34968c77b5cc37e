"""The one multiple-comparison adjustment: Bonferroni and Holm, vectorised, equal to statsmodels row by row."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from studies.analysis.adjust import adjust_p
from studies.errors import StudyError


def test_bonferroni_multiplies_by_the_number_of_tests_and_caps_at_one():
    assert adjust_p(np.array([0.01, 0.2, 0.004, 0.5, 0.3, 0.9])).tolist() == pytest.approx(
        [0.06, 1.0, 0.024, 1.0, 1.0, 1.0]
    )


@pytest.mark.parametrize("method", ["bonferroni", "holm"])
def test_each_row_equals_statsmodels_multipletests(method):
    p = np.random.default_rng(4).random((8, 6)) ** 3
    expected = np.array([multipletests(row, method=method)[1] for row in p])
    assert np.allclose(adjust_p(p, method), expected, rtol=0, atol=1e-15)


def test_holm_steps_down_by_hand():
    # sorted 0.01, 0.02, 0.04: 3 × 0.01 = 0.03; 2 × 0.02 = 0.04; 1 × 0.04 = 0.04 (monotone)
    assert adjust_p(np.array([0.04, 0.01, 0.02]), "holm").tolist() == pytest.approx([0.04, 0.03, 0.04])


def test_an_undefined_p_stays_undefined_and_counts_in_the_family():
    adjusted = adjust_p(np.array([0.01, np.nan]), "holm")
    assert adjusted[0] == pytest.approx(0.02) and np.isnan(adjusted[1])


def test_an_unknown_method_is_refused():
    with pytest.raises(StudyError, match="bonferroni, holm"):
        adjust_p(np.array([0.1]), "sidak")
