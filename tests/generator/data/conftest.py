"""Shared fixtures for the data tests: small phantoms built once per session."""

from __future__ import annotations

import numpy as np
import pytest

from generator.data.findings import draw_findings
from generator.data.phantoms import make_phantom

SEED = 7


def first_index(predicate, seed: int = SEED) -> int:
    """The first phantom index whose drawn findings satisfy `predicate` (findings are drawn first)."""
    for index in range(500):
        if predicate(draw_findings(np.random.default_rng([seed, index]))):
            return index
    raise AssertionError("no phantom index with the wanted findings in 500 draws")


@pytest.fixture(scope="session")
def phantom_with():
    """Build the first phantom (seed SEED) whose drawn findings satisfy a predicate, at a given size."""
    return lambda predicate, size=48: make_phantom(size, SEED, first_index(predicate))


@pytest.fixture(scope="session")
def healthy():
    """A 48³ phantom without any finding."""
    return make_phantom(48, SEED, first_index(lambda f: not any(f.values())))


@pytest.fixture(scope="session")
def small_case():
    """A 32³ phantom, for input/output tests."""
    return make_phantom(32, SEED, 0)
