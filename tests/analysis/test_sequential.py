"""Group-sequential boundaries: Lan–DeMets alpha spending with O'Brien–Fleming-like boundaries."""

import numpy as np
import pytest

from studies.analysis.sequential import boundaries, nominal_alpha, spent


def test_two_looks_at_half_and_full_information_match_the_published_boundaries():
    """gsDesign::gsDesign(k = 2, test.type = 2, alpha = 0.025, sfu = sfLDOF, timing = c(0.5, 1)): 2.963, 1.969
    (Jennison & Turnbull 2000, Table 7.6 for the Lan–DeMets O'Brien–Fleming-type spending function)."""
    assert boundaries([0.5, 1.0], 0.05) == pytest.approx([2.963, 1.969], abs=5e-4)


def test_three_equally_spaced_looks_match_the_published_boundaries():
    """gsDesign, k = 3, equal spacing, two-sided α = 0.05 with sfLDOF: 3.710, 2.511, 1.993."""
    assert boundaries([1 / 3, 2 / 3, 1.0], 0.05) == pytest.approx([3.710, 2.511, 1.993], abs=5e-4)


def test_a_single_look_is_the_fixed_sample_test():
    assert boundaries([1.0], 0.05) == pytest.approx([1.959964], abs=1e-6)
    assert nominal_alpha(boundaries([1.0], 0.05)[0]) == pytest.approx(0.05, abs=1e-9)


def test_the_whole_alpha_is_spent_at_full_information_and_little_early():
    assert spent(1.0, 0.05) == pytest.approx(0.05)
    assert spent(0.5, 0.05) == pytest.approx(0.003051, abs=1e-5)
    assert spent(0.0, 0.05) == 0.0


def test_one_sided_boundaries_spend_alpha_on_one_side():
    """gsDesign test.type = 1, α = 0.025, timing (0.5, 1): the same 2.963 and 1.969 as the symmetric design."""
    assert boundaries([0.5, 1.0], 0.025, "one-sided") == pytest.approx([2.963, 1.969], abs=5e-4)


def test_the_boundaries_hold_the_type_i_error_in_simulated_sequential_trials():
    """Brownian motion at information 0.5 and 1 under the null: rejecting at either look happens in α of trials."""
    rng = np.random.default_rng(3)
    first = rng.normal(size=200_000) * np.sqrt(0.5)
    second = first + rng.normal(size=200_000) * np.sqrt(0.5)
    c1, c2 = boundaries([0.5, 1.0], 0.05)
    rejected = (np.abs(first / np.sqrt(0.5)) >= c1) | (np.abs(second) >= c2)
    assert rejected.mean() == pytest.approx(0.05, abs=0.002)


def test_fractions_must_increase_within_zero_and_one():
    with pytest.raises(ValueError, match="information fractions must increase"):
        boundaries([0.6, 0.4, 1.0], 0.05)
