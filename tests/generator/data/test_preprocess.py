"""Preprocessing: any orientation and spacing back onto the canonical isotropic grid; bad cases skipped."""

from __future__ import annotations

import numpy as np
import pytest

from generator.__main__ import main
from generator.data.cases import read_case, save_image, write_case
from generator.data.preprocess import preprocess_all, preprocess_case

VOLUMES = ("ct", "lobes", "airway", "vessels")


def _write_source(folder, arrays: dict, affine: np.ndarray, report: str) -> None:
    """A source case folder in whatever orientation and dtype the arrays and affine have."""
    folder.mkdir(parents=True)
    for name, array in arrays.items():
        save_image(array, affine, folder / f"{name}.nii.gz")
    (folder / "report.txt").write_text(report)


def test_a_case_stored_in_lps_comes_back_exactly_on_its_ras_grid(small_case, tmp_path):
    flipped = {name: np.ascontiguousarray(getattr(small_case, name)[::-1, ::-1, :]) for name in VOLUMES}
    n = small_case.ct.shape[0]
    to_lps = np.eye(4)
    to_lps[:2, :2] = -np.eye(2)
    to_lps[:2, 3] = n - 1  # voxel i in LPS order is voxel n-1-i in RAS order
    _write_source(tmp_path / "src" / "a", flipped, small_case.affine @ to_lps, small_case.report)
    back = preprocess_case(tmp_path / "src" / "a", size=n, spacing=small_case.spacing)
    assert np.allclose(back.affine, small_case.affine)
    for name in VOLUMES:
        assert np.array_equal(getattr(back, name), getattr(small_case, name)), name
    assert back.meta["preprocess"]["source_orientation"] == "LPS"


def test_anisotropic_ct_is_resampled_trilinearly_to_isotropic_spacing(tmp_path):
    # A CT that is a linear ramp in world z (10 HU per mm) on 1 x 1 x 2.5 mm voxels stays that ramp at 2 mm.
    k = np.arange(16, dtype=np.float32)
    ct = np.broadcast_to(-500 + 10 * (k * 2.5), (16, 16, 16)).astype(np.int16)
    affine = np.diag([1.0, 1.0, 2.5, 1.0])
    zeros = np.zeros(ct.shape, np.uint8)
    _write_source(
        tmp_path / "a",
        {"ct": ct, "lobes": zeros, "airway": zeros, "vessels": zeros},
        affine,
        "FINDINGS: clear.\nIMPRESSION: normal.\n",
    )
    case = preprocess_case(tmp_path / "a", size=8, spacing=2.0)
    assert np.allclose(np.diag(case.affine), [2, 2, 2, 1])
    z_world = case.affine[2, 3] + 2.0 * np.arange(8)
    assert np.allclose(case.ct[4, 4, 2:6], -500 + 10 * z_world[2:6], atol=1)


def test_a_case_with_a_mask_of_another_shape_is_skipped_and_the_others_are_written(small_case, tmp_path):
    good = {name: getattr(small_case, name) for name in VOLUMES}
    _write_source(tmp_path / "src" / "good", good, small_case.affine, small_case.report)
    _write_source(
        tmp_path / "src" / "bad", {**good, "lobes": good["lobes"][:, :, :-2]}, small_case.affine, small_case.report
    )
    outcomes = {
        o.case: o for o in preprocess_all(tmp_path / "src", tmp_path / "out", size=32, spacing=small_case.spacing)
    }
    assert outcomes["good"].status == "made"
    assert outcomes["bad"].status == "refused" and "bad: lobes has shape" in outcomes["bad"].message
    assert not (tmp_path / "out" / "bad").exists()
    read_case(tmp_path / "out" / "good")


def test_a_truncated_volume_is_skipped_with_the_reason(small_case, tmp_path):
    write_case(small_case, tmp_path / "src" / "a")
    ct = tmp_path / "src" / "a" / "ct.nii.gz"
    ct.write_bytes(ct.read_bytes()[:2000])
    (outcome,) = preprocess_all(tmp_path / "src", tmp_path / "out", size=32)
    assert outcome.status == "refused" and outcome.message.startswith("a: cannot be read")


def test_a_report_without_an_impression_is_skipped_with_the_reason(small_case, tmp_path):
    arrays = {name: getattr(small_case, name) for name in VOLUMES}
    _write_source(tmp_path / "src" / "a", arrays, small_case.affine, "FINDINGS: clear lungs.\n")
    (outcome,) = preprocess_all(tmp_path / "src", tmp_path / "out", size=32)
    assert outcome.message == f"{tmp_path / 'src' / 'a'}: report.txt has no IMPRESSION section"


def test_the_command_prints_a_table_and_exits_1_when_a_case_was_refused(small_case, tmp_path, capsys):
    write_case(small_case, tmp_path / "src" / "good")
    (tmp_path / "src" / "empty").mkdir()
    args = ["preprocess", "--src", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--size", "16"]
    status = main(args + ["--workers", "2"])
    out = capsys.readouterr()
    assert status == 1
    assert "made                       1" in out.out and "refused: no ct.nii.gz      1" in out.out
    assert "empty: ct.nii.gz is missing" in out.err


def test_the_command_refuses_a_missing_source_folder(tmp_path, capsys):
    assert main(["preprocess", "--src", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("size", [6, 0])
def test_the_command_refuses_a_size_that_is_not_a_positive_multiple_of_four(tmp_path, capsys, size):
    assert main(["preprocess", "--src", str(tmp_path), "--out", str(tmp_path / "o"), "--size", str(size)]) == 2


def test_a_ct_holding_nan_is_refused_not_written_as_zero_hu(small_case, tmp_path):
    arrays = {name: getattr(small_case, name) for name in VOLUMES}
    ct = small_case.ct.astype(np.float32)
    ct[:8, :8, :8] = np.nan
    _write_source(tmp_path / "src" / "a", {**arrays, "ct": ct}, small_case.affine, small_case.report)
    (outcome,) = preprocess_all(tmp_path / "src", tmp_path / "out", size=32)
    assert outcome.reason == "NaN values" and "a: ct holds 512 NaN or infinite values" in outcome.message
    assert not (tmp_path / "out" / "a").exists()


def test_a_meta_json_holding_a_list_is_refused_naming_the_case(small_case, tmp_path):
    write_case(small_case, tmp_path / "src" / "a")
    (tmp_path / "src" / "a" / "meta.json").write_text("[1, 2]")
    (outcome,) = preprocess_all(tmp_path / "src", tmp_path / "out", size=32)
    assert outcome.status == "refused" and "a: meta.json holds a JSON list" in outcome.message


def test_a_case_without_masks_is_refused_naming_them_unless_allowed(small_case, tmp_path):
    write_case(small_case, tmp_path / "src" / "a")
    (tmp_path / "src" / "a" / "airway.nii.gz").unlink()
    (tmp_path / "src" / "a" / "vessels.nii.gz").unlink()
    (refused,) = preprocess_all(tmp_path / "src", tmp_path / "out", size=32)
    assert "a: no airway, vessels volume (pass --allow-missing-masks" in refused.message
    (made,) = preprocess_all(
        tmp_path / "src", tmp_path / "out", size=32, spacing=small_case.spacing, allow_missing_masks=True
    )
    assert made.status == "made" and made.reason == "without airway, vessels"
    back = read_case(tmp_path / "out" / "a", allow_missing_masks=True)
    assert back.missing == ("airway", "vessels") and back.meta["missing_masks"] == ["airway", "vessels"]
    assert np.array_equal(back.lobes, small_case.lobes) and not (tmp_path / "out" / "a" / "airway.nii.gz").exists()


@pytest.mark.parametrize("out", ["src", "src/processed"])
def test_the_command_refuses_an_out_folder_that_is_or_lies_in_the_source(small_case, tmp_path, capsys, out):
    write_case(small_case, tmp_path / "src" / "a")
    before = (tmp_path / "src" / "a" / "ct.nii.gz").read_bytes()
    assert main(["preprocess", "--src", str(tmp_path / "src"), "--out", str(tmp_path / out), "--size", "16"]) == 2
    assert "--out must not be --src or inside it" in capsys.readouterr().err
    assert (tmp_path / "src" / "a" / "ct.nii.gz").read_bytes() == before


@pytest.mark.parametrize("spacing", ["nan", "inf", "-1"])
def test_the_command_refuses_a_spacing_that_is_not_a_positive_number(tmp_path, capsys, spacing):
    args = ["preprocess", "--src", str(tmp_path), "--out", str(tmp_path / "o"), "--spacing", spacing]
    assert main(args) == 2
    assert f"--spacing must be a positive number of mm, got {float(spacing)}" in capsys.readouterr().err
