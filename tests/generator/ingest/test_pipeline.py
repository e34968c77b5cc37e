"""The whole path: a phantom exported as a DICOM series, its masks as TotalSegmentator files, through ingest and
preprocess, comes back as the phantom itself."""

from __future__ import annotations

import numpy as np

from generator.__main__ import main
from generator.data.cases import read_case, save_image
from generator.ingest.totalsegmentator import LOBE_FILES
from tests.generator.ingest.conftest import write_series


def _export_as_dicom(phantom, folder) -> None:
    """The phantom's CT as an axial LPS series: pixel (row r, column c) of slice k is RAS voxel (n-1-c, n-1-r, k)."""
    n = phantom.ct.shape[0]
    spacing = phantom.spacing
    planes = np.stack([phantom.ct[::-1, ::-1, k].T for k in range(n)])
    corner = phantom.affine @ [n - 1, n - 1, 0, 1]  # RAS centre of the first pixel of the lowest slice
    positions = np.array([[-corner[0], -corner[1], corner[2] + spacing * k] for k in range(n)])
    write_series(folder, planes, positions, pixel_spacing=(spacing, spacing))


def test_a_phantom_through_ingest_and_preprocess_comes_back_exactly(phantom, tmp_path, capsys):
    _export_as_dicom(phantom, tmp_path / "export" / "scan-17")
    reports = tmp_path / "reports.csv"
    reports.write_text("Folder,Findings,Impression\nscan-17,Clear lungs.,Normal chest.\n")
    ingest = ["ingest", "dicom", str(tmp_path / "export"), "--out", str(tmp_path / "raw"), "--reports", str(reports)]
    assert main(ingest + ["--id-column", "Folder"]) == 0
    (case,) = [p for p in (tmp_path / "raw").iterdir() if p.is_dir()]
    (tmp_path / "ts" / case.name).mkdir(parents=True)
    for name, label in LOBE_FILES.items():
        save_image(
            (phantom.lobes == label).astype(np.uint8), phantom.affine, tmp_path / "ts" / case.name / f"{name}.nii.gz"
        )
    save_image(phantom.airway, phantom.affine, tmp_path / "ts" / case.name / "lung_trachea_bronchia.nii.gz")
    save_image(phantom.vessels, phantom.affine, tmp_path / "ts" / case.name / "lung_vessels.nii.gz")
    assert main(["ingest", "totalsegmentator", str(tmp_path / "ts"), "--cases", str(tmp_path / "raw")]) == 0
    size, spacing = str(phantom.ct.shape[0]), str(phantom.spacing)
    assert (
        main(
            [
                "preprocess",
                "--src",
                str(tmp_path / "raw"),
                "--out",
                str(tmp_path / "cases"),
                "--size",
                size,
                "--spacing",
                spacing,
            ]
        )
        == 0
    )
    back = read_case(tmp_path / "cases" / case.name)
    assert np.allclose(back.affine, phantom.affine, atol=1e-4)
    for name in ("ct", "lobes", "airway", "vessels"):
        assert np.array_equal(getattr(back, name), getattr(phantom, name)), name
    assert back.report == "FINDINGS: Clear lungs.\nIMPRESSION: Normal chest.\n"
