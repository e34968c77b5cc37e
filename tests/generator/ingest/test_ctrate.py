"""`ingest ct-rate`: a CT-RATE-shaped folder (blank-header raw volumes, fixed HU volumes, the CSVs) into cases."""

from __future__ import annotations

import csv
import json

import nibabel as nib
import numpy as np
import pytest

from generator.__main__ import main
from generator.data.cases import save_image
from generator.ingest.ctrate import ingest_ctrate

IPP, XY, Z = np.array([-100.0, -120.0, -50.0]), 0.75, 1.5
REPORT_COLUMNS = ["VolumeName", "ClinicalInformation_EN", "Technique_EN", "Findings_EN", "Impressions_EN"]
META_COLUMNS = ["VolumeName", "RescaleSlope", "RescaleIntercept", "XYSpacing", "ZSpacing"]
META_COLUMNS += ["ImagePositionPatient", "ImageOrientationPatient", "Manufacturer"]


def _csv(path, columns, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def _volume_path(dataset, folder, name):
    split, n, scan, _ = name.split("_")
    return dataset / folder / f"{split}_{n}" / f"{split}_{n}_{scan}" / f"{name}.nii.gz"


def _raw(phantom_ct: np.ndarray, path) -> None:
    """A first-release volume: stored values (HU + 1024) as float, blank header (no geometry, no scaling)."""
    path.parent.mkdir(parents=True)
    img = nib.Nifti1Image((phantom_ct.astype(np.float32) + 1024), None)
    assert img.header["sform_code"] == 0 and img.header["qform_code"] == 0
    nib.save(img, path)


def _metadata_row(name):
    return [f"{name}.nii.gz", 1, -1024, f"[{XY}, {XY}]", Z, str(IPP.tolist()), "[1, 0, 0, 0, 1, 0]", "PHILIPS"]


def _expected_hu(img, stored: np.ndarray) -> np.ndarray:
    """The HU each output voxel should hold: its RAS centre back to LPS, then to the raw array's index by
    the metadata geometry (axis 0 along +L at 0.75 mm, 1 along +P, 2 along +S at 1.5 mm from IPP)."""
    ijk = np.stack(np.meshgrid(*map(np.arange, img.shape), indexing="ij"), -1).reshape(-1, 3)
    lps = nib.affines.apply_affine(img.affine, ijk) * [-1, -1, 1]
    index = np.rint((lps - IPP) / [XY, XY, Z]).astype(int)
    return stored[tuple(index.T)].reshape(img.shape)


@pytest.fixture
def ctrate(phantom, tmp_path):
    """A CT-RATE download: train_1_a_1 raw in the first release, train_2_a_1 fixed (HU, geometry in its header)."""
    dataset = tmp_path / "CT-RATE" / "dataset"
    _raw(phantom.ct, _volume_path(dataset, "train", "train_1_a_1"))
    fixed = _volume_path(dataset, "train_fixed", "train_2_a_1")
    fixed.parent.mkdir(parents=True)
    save_image(phantom.ct, phantom.affine, fixed)
    _csv(
        dataset / "radiology_text_reports" / "train_reports.csv",
        REPORT_COLUMNS,
        [
            ["train_1_a_1.nii.gz", "Cough.", "Non-contrast.", "Lungs are clear.", "No acute finding."],
            ["train_2_a_1.nii.gz", "Dyspnoea.", "Non-contrast.", "Right pleural effusion.", "Effusion."],
        ],
    )
    _csv(dataset / "metadata" / "train_metadata.csv", META_COLUMNS, [_metadata_row(f"train_{n}_a_1") for n in (1, 2)])
    return tmp_path / "CT-RATE"


def test_a_raw_volume_with_a_blank_header_comes_back_in_hu_on_its_metadata_grid(ctrate, phantom, tmp_path):
    outcomes = ingest_ctrate(ctrate, tmp_path / "out")
    assert sorted((o.case, o.status) for o in outcomes) == [("train_1_a_1", "made"), ("train_2_a_1", "made")]
    img = nib.load(tmp_path / "out" / "train_1_a_1" / "ct.nii.gz")
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    assert np.allclose(np.abs(np.diag(img.affine)[:3]), [XY, XY, Z])
    assert np.array_equal(np.asanyarray(img.dataobj), _expected_hu(img, phantom.ct))
    report = (tmp_path / "out" / "train_1_a_1" / "report.txt").read_text()
    assert report == "FINDINGS: Lungs are clear.\nIMPRESSION: No acute finding.\n"


def test_a_fixed_volume_already_in_hu_keeps_its_values_and_header_geometry(ctrate, phantom, tmp_path):
    ingest_ctrate(ctrate, tmp_path / "out")
    img = nib.load(tmp_path / "out" / "train_2_a_1" / "ct.nii.gz")
    assert np.allclose(img.affine, phantom.affine) and np.array_equal(np.asanyarray(img.dataobj), phantom.ct)
    info = json.loads((tmp_path / "out" / "train_2_a_1" / "meta.json").read_text())["ingest"]
    assert info["stored_as"] == "HU" and info["geometry_from"] == "header"


def test_a_raw_volume_under_a_fixed_folder_is_still_rescaled_by_its_voxels(ctrate, phantom, tmp_path):
    dataset = ctrate / "dataset"
    _raw(phantom.ct, _volume_path(dataset, "train_fixed", "train_1_a_1"))
    ingest_ctrate(ctrate, tmp_path / "out")
    img = nib.load(tmp_path / "out" / "train_1_a_1" / "ct.nii.gz")
    assert np.array_equal(np.asanyarray(img.dataobj), _expected_hu(img, phantom.ct))


def test_the_validation_split_reads_the_validation_csvs_and_limit_takes_the_first(phantom, tmp_path, capsys):
    dataset = tmp_path / "dataset"
    for n in (1, 2, 3):
        _raw(phantom.ct, _volume_path(dataset, "valid", f"valid_{n}_a_1"))
    rows = [[f"valid_{n}_a_1.nii.gz", "", "", "Clear.", "Normal."] for n in (1, 2, 3)]
    _csv(dataset / "radiology_text_reports" / "validation_reports.csv", REPORT_COLUMNS, rows)
    _csv(
        dataset / "metadata" / "validation_metadata.csv",
        META_COLUMNS,
        [_metadata_row(f"valid_{n}_a_1") for n in (1, 2)],
    )
    args = ["ingest", "ct-rate", str(tmp_path), "--out", str(tmp_path / "out"), "--split", "valid"]
    assert main(args + ["--limit", "1"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == ["valid_1_a_1"]
    capsys.readouterr()
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "skipped: already done      1" in captured.out and "refused: no metadata       1" in captured.out
    assert "valid_3_a_1.nii.gz: no row for it in the metadata CSV" in captured.err


def test_a_reports_csv_without_the_expected_column_is_an_error_naming_it(ctrate, tmp_path, capsys):
    path = ctrate / "dataset" / "radiology_text_reports" / "train_reports.csv"
    path.write_text(path.read_text().replace("Impressions_EN", "Impression"))
    assert main(["ingest", "ct-rate", str(ctrate), "--out", str(tmp_path / "out")]) == 2
    assert "train_reports.csv: no column Impressions_EN" in capsys.readouterr().err
