"""Shared phantoms for the metrics tests: written once per session at small sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.data.cases import write_case
from generator.data.phantoms import make_phantom

# Seed 2 at 96³ gives effusions (120 mL to 1.6 L, one and both sides), emphysema (4–27 %), a lobar
# consolidation, normal hearts and cardiomegaly (CTR 0.39–0.64).
MEASURED = [(2, index) for index in (0, 1, 3, 6, 7, 11)]


@pytest.fixture(scope="session")
def measured_phantoms():
    """(case, rule-based measures) of the MEASURED phantoms at 96³ (3.5 mm voxels)."""
    from generator.metrics.anatomy import measure

    cases = [make_phantom(96, seed, index) for seed, index in MEASURED]
    return [(case, measure(case.ct, case.spacing)) for case in cases]


@pytest.fixture(scope="session")
def phantom_sets(tmp_path_factory) -> dict[str, Path]:
    """Two folders of four 48³ phantoms each (different seeds), as `evaluate` reads them."""
    root = tmp_path_factory.mktemp("sets")
    for name, seed in (("real", 10), ("generated", 11)):
        for index in range(4):
            write_case(make_phantom(48, seed, index), root / name / f"case-{index:04d}")
    return {"real": root / "real", "generated": root / "generated"}
