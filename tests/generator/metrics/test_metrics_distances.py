"""FID and MMD against closed forms and independent computations; ≈ 0 for one set, growing with a shift."""

from __future__ import annotations

import numpy as np
import pytest

from generator.metrics.distances import DistanceError, frechet_distance, median_bandwidth, mmd2_unbiased


def _standardised(rng, n):
    """n samples with sample mean 0 and sample variance (ddof=1) exactly 1."""
    x = rng.standard_normal(n)
    return (x - x.mean()) / x.std(ddof=1)


def test_fid_of_one_dimensional_sets_is_the_gaussian_closed_form():
    """Dowson & Landau (1982): for 1D Gaussians, d² = (μ1 − μ2)² + (σ1 − σ2)²; here 3² + (1 − 2)² = 10."""
    rng = np.random.default_rng(0)
    a = _standardised(rng, 500)[:, None]
    b = (3 + 2 * _standardised(rng, 400))[:, None]
    assert frechet_distance(a, b) == pytest.approx(10.0, rel=1e-9)


def test_fid_matches_the_symmetric_square_root_form():
    """tr((ΣaΣb)^½) = tr((Σa^½ Σb Σa^½)^½), computed here with eigendecompositions only."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 5))
    b = rng.standard_normal((250, 5)) @ rng.standard_normal((5, 5)) + 0.5
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(ca)
    half = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(half @ cb @ half)
    expected = (
        np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca) + np.trace(cb) - 2 * np.sqrt(np.clip(inner, 0, None)).sum()
    )
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-7)


def test_fid_of_a_set_against_itself_is_zero_even_with_fewer_samples_than_features():
    a = np.random.default_rng(2).standard_normal((6, 40))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-4)


def test_fid_grows_with_a_planted_shift():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((200, 8)), rng.standard_normal((200, 8))
    values = [frechet_distance(a, b + shift) for shift in (0.0, 0.25, 0.5, 1.0)]
    assert values == sorted(values) and values[0] < 0.5 < 4 < values[-1]


def test_mmd_matches_a_direct_double_sum():
    """Gretton et al. (2012), eq. 3, written out with explicit loops over distinct pairs."""
    rng = np.random.default_rng(4)
    a, b, sigma = rng.standard_normal((7, 3)), rng.standard_normal((5, 3)) + 0.3, 1.7
    k = lambda x, y: np.exp(-np.sum((x - y) ** 2) / (2 * sigma**2))  # noqa: E731
    m, n = len(a), len(b)
    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a[i], b[j]) for i in range(m) for j in range(n)) / (m * n)
    assert mmd2_unbiased(a, b, bandwidth=sigma) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_mmd_of_two_samples_of_one_distribution_is_near_zero_and_grows_with_a_shift():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((150, 4)), rng.standard_normal((150, 4))
    values = [mmd2_unbiased(a, b + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert abs(values[0]) < 0.02
    assert values == sorted(values) and values[-1] > 0.3


def test_median_bandwidth_is_the_median_pairwise_distance():
    x = np.array([[0.0], [1.0], [3.0]])  # distances 1, 3, 2
    assert median_bandwidth(x) == 2.0


def test_it_rejects_feature_sets_of_different_widths():
    with pytest.raises(DistanceError, match="widths differ"):
        frechet_distance(np.zeros((3, 2)), np.zeros((3, 4)))


def test_it_rejects_a_set_with_a_single_sample():
    with pytest.raises(DistanceError, match="at least 2"):
        mmd2_unbiased(np.zeros((1, 2)), np.zeros((3, 2)))
