"""Case folders: written atomically, read back identically, broken ones rejected with the folder named."""

from __future__ import annotations

import numpy as np
import pytest

from generator.data.cases import CaseError, read_case, save_image, write_case


def test_a_written_case_reads_back_identical(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    back = read_case(tmp_path / "a")
    for name in ("ct", "lobes", "airway", "vessels"):
        assert np.array_equal(getattr(back, name), getattr(small_case, name))
        assert getattr(back, name).dtype == getattr(small_case, name).dtype
    assert np.allclose(back.affine, small_case.affine)
    assert back.report == small_case.report
    assert back.meta == small_case.meta


def test_writing_over_a_case_replaces_it_and_leaves_no_temporary_folder(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    small_case_changed = type(small_case)(**{**small_case.__dict__, "report": "FINDINGS: x\nIMPRESSION: y\n"})
    write_case(small_case_changed, tmp_path / "a")
    assert read_case(tmp_path / "a").report.startswith("FINDINGS: x")
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def test_it_rejects_a_mask_whose_shape_differs_from_the_ct(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    save_image(np.zeros((32, 32, 30), np.uint8), small_case.affine, tmp_path / "a" / "airway.nii.gz")
    with pytest.raises(CaseError, match=r"a: airway.nii.gz has shape \(32, 32, 30\)"):
        read_case(tmp_path / "a")


def test_it_rejects_a_missing_volume(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    (tmp_path / "a" / "vessels.nii.gz").unlink()
    with pytest.raises(CaseError, match="vessels.nii.gz is missing"):
        read_case(tmp_path / "a")


def test_it_rejects_a_case_that_is_not_in_canonical_orientation(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    lps = small_case.affine @ np.diag([-1.0, -1.0, 1.0, 1.0])
    for name in ("ct", "lobes", "airway", "vessels"):
        save_image(getattr(small_case, name), lps, tmp_path / "a" / f"{name}.nii.gz")
    with pytest.raises(CaseError, match="not canonical RAS"):
        read_case(tmp_path / "a")


def test_it_refuses_to_write_volumes_of_different_shapes(small_case, tmp_path):
    broken = type(small_case)(**{**small_case.__dict__, "lobes": small_case.lobes[:-1]})
    with pytest.raises(CaseError, match="one shape"):
        write_case(broken, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_a_missing_mask_is_named_with_the_flag_that_accepts_it(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    (tmp_path / "a" / "lobes.nii.gz").unlink()
    with pytest.raises(CaseError, match="lobes.nii.gz is missing \\(pass --allow-missing-masks"):
        read_case(tmp_path / "a")


def test_with_missing_masks_allowed_an_absent_mask_reads_as_zeros_and_is_named(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    (tmp_path / "a" / "vessels.nii.gz").unlink()
    case = read_case(tmp_path / "a", allow_missing_masks=True)
    assert case.missing == ("vessels",) and not case.vessels.any()
    assert np.array_equal(case.airway, small_case.airway)


def test_a_case_with_missing_masks_is_written_without_them_and_says_so(small_case, tmp_path):
    case = type(small_case)(**{**small_case.__dict__, "missing": ("lobes",)})
    write_case(case, tmp_path / "a")
    assert not (tmp_path / "a" / "lobes.nii.gz").exists()
    assert read_case(tmp_path / "a", allow_missing_masks=True).meta["missing_masks"] == ["lobes"]


def test_it_rejects_a_ct_holding_nan_saying_so(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    ct = small_case.ct.astype(np.float32)
    ct[0, 0, :3] = np.nan
    save_image(ct, small_case.affine, tmp_path / "a" / "ct.nii.gz")
    with pytest.raises(CaseError, match="a: ct.nii.gz holds 3 NaN or infinite values"):
        read_case(tmp_path / "a")


def test_it_rejects_a_meta_json_that_is_not_an_object(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    (tmp_path / "a" / "meta.json").write_text('["seed", 1]')
    with pytest.raises(CaseError, match="a: meta.json holds a JSON list, not an object"):
        read_case(tmp_path / "a")
