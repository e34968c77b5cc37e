"""Pixel statistics the audit compares between sources, checked against independently computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from studies.appearance import Appearance, body_extent_mm, noise_sd, source_warnings, wasserstein_hu


def test_noise_sd_recovers_the_sd_of_gaussian_noise_in_soft_tissue():
    hu = np.rint(40 + np.random.default_rng(0).normal(0, 20, (40, 40, 40))).astype(np.int16)
    assert noise_sd(hu) == pytest.approx(20, rel=0.08)


def test_noise_sd_ignores_edges_between_tissues():
    hu = np.full((40, 40, 40), 40, dtype=np.int16)
    hu[:, :20] = -850  # a lung next to soft tissue, noise-free
    assert noise_sd(hu) == 0.0


def test_wasserstein_hu_matches_scipy_on_one_hu_bins():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 300, 5000), rng.integers(40, 380, 7000)
    histogram_a, histogram_b = np.bincount(a, minlength=400), np.bincount(b, minlength=400)
    assert wasserstein_hu(histogram_a, histogram_b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)


def test_body_extent_measures_the_bounding_box_of_body_voxels_in_mm():
    hu = np.full((20, 20, 20), -1000, dtype=np.int16)
    hu[5:15, 2:18, 0:20] = 40
    assert body_extent_mm(hu, 2.0) == (20.0, 32.0, 40.0)


def appearance(noise: float) -> Appearance:
    metrics = {
        "noise_hu": noise,
        "grey_levels": 0.9,
        "padding": 0.0,
        "body_rl_mm": 300.0,
        "body_ap_mm": 220.0,
        "body_si_mm": 250.0,
    }
    return Appearance(metrics, np.bincount([1000, 1100], minlength=4096).astype(float))


def test_a_source_overlapping_the_others_raises_no_warning():
    appearances = {"a": appearance(10), "b": appearance(30), "c": appearance(12), "d": appearance(28)}
    assert source_warnings(appearances, {"a": "real", "b": "real", "c": "medsyn", "d": "medsyn"}) == []


def test_a_separable_source_beyond_tolerance_warns_once_when_there_are_two_sources():
    appearances = {"a": appearance(25), "b": appearance(30), "c": appearance(5), "d": appearance(6)}
    [warning] = source_warnings(appearances, {"a": "real", "b": "real", "c": "medsyn", "d": "medsyn"})
    assert warning.startswith("noise level") and "'medsyn' is below every volume of 'real'" in warning


def test_a_separable_difference_within_tolerance_raises_no_warning():
    appearances = {"a": appearance(10), "b": appearance(11), "c": appearance(8), "d": appearance(8.5)}
    assert source_warnings(appearances, {"a": "real", "b": "real", "c": "medsyn", "d": "medsyn"}) == []
