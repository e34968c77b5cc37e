"""The CT-only anatomy measures recover each phantom's truth (meta.json) within the stated tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from generator.data.phantoms import make_phantom
from generator.metrics.anatomy import MeasureError, hu_offset, measure

# Tolerances for grids of 3.5 mm or finer (phantoms of 96³ and up), stated in the README.
EFFUSION_REL, EFFUSION_ML = 0.15, 20.0
CTR_ABS = 0.04
LAA_POINTS = 2.5
AIRWAY_REL = 0.25


def test_effusion_volume_matches_the_phantom_truth(measured_phantoms):
    for case, m in measured_phantoms:
        truth = case.meta["truth"]["effusion_ml"]
        assert abs(m["effusion_ml"] - truth) <= max(EFFUSION_ML, EFFUSION_REL * truth), case.meta["index"]


def test_cases_without_effusion_measure_no_effusion(measured_phantoms):
    empty = [m["effusion_ml"] for case, m in measured_phantoms if not case.meta["findings"]["pleural_effusion"]]
    assert empty and max(empty) <= EFFUSION_ML


def test_cardiothoracic_ratio_matches_the_phantom_truth_without_lobar_consolidation(measured_phantoms):
    """A lobar consolidation (35 HU) touching the heart (40 HU) where the 5 mm pericardial fat is thinner
    than a voxel merges with it on CT alone; the README says so and asks for a heart mask there."""
    clear = [
        (case, m)
        for case, m in measured_phantoms
        if (case.meta["findings"]["consolidation"] or {}).get("pattern") != "lobar"
    ]
    assert len(clear) >= 4
    for case, m in clear:
        assert abs(m["ctr"] - case.meta["truth"]["ctr"]) <= CTR_ABS, case.meta["index"]


def test_cardiomegaly_measures_a_higher_ratio_than_normal_hearts(measured_phantoms):
    enlarged = [m["ctr"] for case, m in measured_phantoms if case.meta["findings"]["cardiomegaly"]]
    normal = [m["ctr"] for case, m in measured_phantoms if not case.meta["findings"]["cardiomegaly"]]
    assert enlarged and normal and min(enlarged) > max(normal)


def test_laa950_matches_the_phantom_truth(measured_phantoms):
    for case, m in measured_phantoms:
        assert abs(m["laa950_percent"] - case.meta["truth"]["laa950_percent"]) <= LAA_POINTS, case.meta["index"]


def test_airway_volume_matches_the_phantom_truth(measured_phantoms):
    for case, m in measured_phantoms:
        truth = case.meta["truth"]["airway_mm3"]
        assert abs(m["airway_mm3"] - truth) <= AIRWAY_REL * truth, case.meta["index"]


def test_external_masks_replace_the_rule_based_ones(measured_phantoms):
    case, _ = measured_phantoms[0]
    effusion = np.zeros(case.ct.shape, bool)
    effusion[10:20, 10:20, 10:20] = True
    m = measure(case.ct, case.spacing, {"effusion": effusion, "airway": case.airway > 0})
    assert m["effusion_ml"] == pytest.approx(1000 * case.spacing**3 / 1000, abs=0.01)
    assert m["airway_mm3"] == pytest.approx(case.meta["truth"]["airway_mm3"], abs=0.1)


def test_it_rejects_an_unknown_mask_name(measured_phantoms):
    case, _ = measured_phantoms[0]
    with pytest.raises(MeasureError, match="unknown mask"):
        measure(case.ct, case.spacing, {"liver": np.zeros(case.ct.shape, bool)})


# The robust effusion measure against the phantoms' truth under the noise and offsets of generated volumes, on the
# 64³ grid of the text-control experiment (5.25 mm voxels). Seed 2: cases 7 (1,265 mL) and 11 (381 mL) have
# effusions, cases 1, 3 and 6 none.
ROBUST_CASES = (1, 3, 6, 7, 11)
NOISE_HU, OFFSET_HU = (0.0, 40.0, 80.0), (-20.0, 0.0, 20.0)


@pytest.fixture(scope="module")
def robust_table():
    """{(noise, offset): [(truth mL, robust mL)]} over ROBUST_CASES."""
    cases = [make_phantom(64, 2, index) for index in ROBUST_CASES]
    rng = np.random.default_rng(0)
    table = {}
    for noise in NOISE_HU:
        for offset in OFFSET_HU:
            rows = []
            for case in cases:
                ct = case.ct.astype(np.float32) + offset + noise * rng.standard_normal(case.ct.shape, np.float32)
                value = measure(np.clip(ct, -1024, 3071), case.spacing, robust=True)["effusion_ml_robust"]
                rows.append((case.meta["truth"]["effusion_ml"], value))
            table[(noise, offset)] = rows
    return table


@pytest.mark.slow
def test_the_robust_effusion_measure_ignores_an_hu_offset_of_20(robust_table):
    for offset in OFFSET_HU:
        for truth, value in robust_table[(0.0, offset)]:
            assert abs(value - truth) <= max(EFFUSION_ML, EFFUSION_REL * truth), (offset, truth, value)


@pytest.mark.slow
def test_the_robust_effusion_measure_keeps_effusions_above_empty_chests_at_80_hu_of_noise(robust_table):
    for (noise, offset), rows in robust_table.items():
        effusions = [value for truth, value in rows if truth > 0]
        empty = [value for truth, value in rows if truth == 0]
        assert min(effusions) > max(empty), (noise, offset)
        assert all(value >= 0.8 * truth for truth, value in rows if truth > 0), (noise, offset)


def _body_values(fat_hu: float | None) -> tuple[np.ndarray, np.ndarray]:
    """A 'body' of values: soft tissue around 40 HU, a ramp of partial-volume voxels rising from −250 HU towards
    it, and (unless None) a fat peak at `fat_hu`."""
    rng = np.random.default_rng(0)
    parts = [rng.normal(40.0, 15.0, 60_000), rng.triangular(-250.0, -30.0, -30.0, 20_000)]
    if fat_hu is not None:
        parts.append(rng.normal(fat_hu, 12.0, 8_000))
    values = np.concatenate(parts).astype(np.float32)
    return values, np.ones(values.shape, bool)


def test_a_volume_without_a_fat_peak_gets_no_hu_offset():
    """Generated volumes often blur thin fat into muscle, so their histogram rises smoothly towards soft tissue
    with no fat mode; taking the ramp's edge for fat shifted such volumes by −57 HU, and their hearts and muscle
    (40–50 HU) then read as pleural fluid."""
    assert hu_offset(*_body_values(None)) == 0.0


def test_a_fat_peak_gives_the_offset_of_the_volume():
    for fat in (-120.0, -100.0, -85.0):
        assert abs(hu_offset(*_body_values(fat)) - (fat + 100.0)) <= 5.0, fat


def test_the_robust_measure_is_only_added_when_asked_for(measured_phantoms):
    case, plain = measured_phantoms[0]
    assert "effusion_ml_robust" not in plain
    assert "effusion_ml_robust" in measure(case.ct, case.spacing, robust=True)
