"""Procedural phantoms: anatomy where anatomy is, tissues at their HU, truth that agrees with the findings."""

from __future__ import annotations

import numpy as np
import pytest

from generator.__main__ import main
from generator.data.anatomy import FOV_MM
from generator.data.cases import read_case
from generator.data.phantoms import make_phantom
from generator.text.sections import parse_report


def _centre(case, labels) -> np.ndarray:
    """World centre (mm) of the voxels carrying any of the lobe labels."""
    idx = np.argwhere(np.isin(case.lobes, labels))
    return (case.affine @ np.c_[idx, np.ones(len(idx))].T)[:3].mean(axis=1)


def test_the_same_seed_gives_the_same_phantom():
    a, b = make_phantom(32, 3, 5), make_phantom(32, 3, 5)
    assert np.array_equal(a.ct, b.ct) and np.array_equal(a.vessels, b.vessels)
    assert a.report == b.report and a.meta == b.meta


def test_different_cases_have_different_anatomy():
    a, b = make_phantom(32, 7, 0), make_phantom(32, 7, 1)
    assert a.meta["anatomy"]["body_a"] != b.meta["anatomy"]["body_a"]
    assert not np.array_equal(a.lobes, b.lobes)


def test_the_field_of_view_is_336_mm_whatever_the_size(healthy):
    assert healthy.spacing == pytest.approx(FOV_MM / 48)
    assert healthy.meta["spacing_mm"] == pytest.approx(7.0)


def test_right_lung_lobes_lie_on_the_patients_right_in_ras(healthy):
    assert _centre(healthy, [3, 4, 5])[0] > 30
    assert _centre(healthy, [1, 2])[0] < -30


def test_upper_lobes_lie_above_lower_lobes_and_the_middle_lobe_in_front(healthy):
    assert _centre(healthy, [1])[2] > _centre(healthy, [2])[2]
    assert _centre(healthy, [3])[2] > _centre(healthy, [5])[2]
    assert _centre(healthy, [4])[1] > _centre(healthy, [5])[1]
    assert set(np.unique(healthy.lobes)) == {0, 1, 2, 3, 4, 5}


def test_airway_lumen_is_air_and_lung_vessels_are_dense(healthy):
    assert np.median(healthy.ct[healthy.airway == 1]) < -950
    assert np.median(healthy.ct[healthy.vessels == 1]) > 0
    parenchyma = (healthy.lobes > 0) & (healthy.vessels == 0)
    assert -900 < np.median(healthy.ct[parenchyma]) < -800


def test_healthy_lungs_have_almost_no_voxels_below_minus_950(healthy):
    assert healthy.meta["truth"]["laa950_percent"] < 0.1
    assert healthy.meta["truth"]["effusion_ml"] == 0
    assert healthy.meta["truth"]["ctr"] < 0.5


def test_a_pleural_effusion_is_fluid_in_the_posterior_pleural_space_with_the_drawn_volume(phantom_with):
    case = phantom_with(lambda f: f["pleural_effusion"] and f["pleural_effusion"]["side"] == "right")
    drawn, truth = case.meta["findings"]["pleural_effusion"], case.meta["truth"]
    assert truth["effusion_ml"] == pytest.approx(drawn["volume_ml"], rel=0.1)
    fluid = (case.ct > -100) & (case.ct < 100) & (case.lobes == 0)
    lung = case.lobes > 0
    right_half = np.arange(48)[:, None, None] >= 24
    assert (fluid & right_half).sum() * case.voxel_mm3 / 1000 > 0.5 * drawn["volume_ml"]
    assert "effusion" in parse_report(case.report).impression.lower()
    assert np.argwhere(fluid & right_half)[:, 1].mean() < np.argwhere(lung)[:, 1].mean()


def test_cardiomegaly_gives_the_drawn_cardiothoracic_ratio(phantom_with):
    case = phantom_with(lambda f: f["cardiomegaly"] and f["cardiomegaly"]["grade"] == "marked", 64)
    assert case.meta["truth"]["ctr"] == pytest.approx(case.meta["findings"]["cardiomegaly"]["ctr"], abs=0.04)
    assert case.meta["truth"]["ctr"] > 0.55
    assert "cardiomegaly" in parse_report(case.report).impression.lower()


def test_emphysema_puts_the_drawn_share_of_lung_below_minus_950(phantom_with):
    case = phantom_with(lambda f: f["emphysema"] and f["emphysema"]["severity"] == "severe")
    drawn = case.meta["findings"]["emphysema"]["laa_percent"]
    assert case.meta["truth"]["laa950_percent"] == pytest.approx(drawn, rel=0.35)
    assert "emphysema" in case.report.lower()


def test_consolidation_makes_part_of_the_named_lobe_dense(phantom_with):
    case = phantom_with(lambda f: f["consolidation"] and f["consolidation"]["extent"] > 0.5)
    found = case.meta["findings"]["consolidation"]
    label = {"left upper": 1, "left lower": 2, "right upper": 3, "right middle": 4, "right lower": 5}[found["lobe"]]
    dense = (case.ct[case.lobes == label] > -200).mean()
    assert dense > 0.4
    assert found["lobe"] in case.report


def test_every_case_records_truth_with_zero_for_absent_findings(healthy):
    assert set(healthy.meta["truth"]) == {"effusion_ml", "ctr", "laa950_percent", "airway_mm3"}
    assert healthy.meta["truth"]["airway_mm3"] > 10_000
    assert set(healthy.meta["findings"]) == {"pleural_effusion", "cardiomegaly", "consolidation", "emphysema"}


def test_the_phantoms_command_writes_readable_case_folders(tmp_path):
    assert main(["phantoms", "--out", str(tmp_path), "--n", "2", "--size", "32", "--seed", "4"]) == 0
    case = read_case(tmp_path / "case-0001")
    assert case.ct.shape == (32, 32, 32) and case.meta["index"] == 1 and case.meta["seed"] == 4


def test_parallel_workers_write_the_same_phantoms_as_one_process(tmp_path):
    assert main(["phantoms", "--out", str(tmp_path / "one"), "--n", "2", "--size", "16", "--seed", "2"]) == 0
    assert (
        main(["phantoms", "--out", str(tmp_path / "two"), "--n", "2", "--size", "16", "--seed", "2", "--workers", "2"])
        == 0
    )
    for name in ("case-0000", "case-0001"):
        a, b = read_case(tmp_path / "one" / name), read_case(tmp_path / "two" / name)
        assert np.array_equal(a.ct, b.ct) and a.report == b.report


def test_the_phantoms_command_rejects_a_size_that_is_not_a_multiple_of_four(tmp_path, capsys):
    assert main(["phantoms", "--out", str(tmp_path), "--n", "1", "--size", "30"]) == 2
    assert "error: --size must be a multiple of 4" in capsys.readouterr().err


def test_the_phantoms_command_reports_an_output_path_it_cannot_write(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["phantoms", "--out", str(tmp_path / "file"), "--n", "1", "--size", "16"]) == 2
    assert "error: cannot write phantoms to" in capsys.readouterr().err


def test_the_balanced_mix_makes_every_prompted_finding_and_the_normal_chest_common():
    from generator.data.findings import draw_findings

    draws = [draw_findings(np.random.default_rng([0, i]), "balanced") for i in range(2000)]
    share = lambda hit: sum(map(hit, draws)) / len(draws)  # noqa: E731
    effusion = share(
        lambda f: (f["pleural_effusion"] or {}).get("size") == "large" and f["pleural_effusion"]["side"] == "bilateral"
    )
    assert 0.15 < effusion < 0.21
    assert 0.27 < share(lambda f: (f["cardiomegaly"] or {}).get("grade") == "marked") < 0.35
    assert 0.27 < share(lambda f: (f["emphysema"] or {}).get("severity") == "severe") < 0.35
    assert 0.10 < share(lambda f: not any(f.values())) < 0.16
