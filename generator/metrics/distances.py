"""Distribution distances between feature sets of real and generated volumes: FID and MMD (paper §V-B)."""

from __future__ import annotations

import numpy as np
from scipy import linalg

SQRTM_EPS = 1e-6


class DistanceError(ValueError):
    """Feature sets that cannot be compared, said with what is wrong."""


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples), as in FID
    (Heusel et al. 2017): ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½). When the product's square root is not
    finite (near-singular covariances, fewer samples than features) it is retried with ε·I added to both."""
    a, b = _check(a, b, minimum=2)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = linalg.sqrtm(cov_a @ cov_b)
    if not np.all(np.isfinite(root)):
        eps = np.eye(cov_a.shape[0]) * SQRTM_EPS
        root = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    root = np.real(root)
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root))
    return max(value, 0.0)


def mmd2_unbiased(a: np.ndarray, b: np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased squared maximum mean discrepancy (Gretton et al. 2012, eq. 3) with the RBF kernel
    k(x, y) = exp(−‖x − y‖² / (2σ²)); σ defaults to the median pairwise distance of the pooled samples
    (the median heuristic). Near 0 for one distribution; it can dip slightly below 0 by chance."""
    a, b = _check(a, b, minimum=2)
    sigma = median_bandwidth(np.concatenate([a, b])) if bandwidth is None else float(bandwidth)
    if sigma <= 0:
        raise DistanceError(f"the RBF bandwidth must be positive, got {sigma}")
    k_aa, k_bb, k_ab = (np.exp(-_sq_dists(x, y) / (2 * sigma**2)) for x, y in ((a, a), (b, b), (a, b)))
    m, n = len(a), len(b)
    term_aa = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    term_bb = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(term_aa + term_bb - 2 * k_ab.mean())


def median_bandwidth(x: np.ndarray) -> float:
    """Median of the pairwise Euclidean distances between distinct samples (1.0 if all coincide)."""
    d = np.sqrt(_sq_dists(x, x)[np.triu_indices(len(x), k=1)])
    positive = d[d > 0]
    return float(np.median(positive)) if positive.size else 1.0


def _sq_dists(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of x and y, (len(x), len(y))."""
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return np.maximum(d, 0.0)


def _check(a: np.ndarray, b: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    """Both sets as float64 (samples, features) with the same width and at least `minimum` samples."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    for name, x in (("first", a), ("second", b)):
        if x.ndim != 2:
            raise DistanceError(f"the {name} feature set must be (samples, features), got shape {x.shape}")
        if len(x) < minimum:
            raise DistanceError(f"the {name} feature set has {len(x)} samples; at least {minimum} are needed")
    if a.shape[1] != b.shape[1]:
        raise DistanceError(f"feature widths differ: {a.shape[1]} and {b.shape[1]}")
    return a, b
