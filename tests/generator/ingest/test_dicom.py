"""`ingest dicom`: series written here with pydicom come back as exact HU on a RAS+ grid, or are refused by name."""

from __future__ import annotations

import csv

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import JPEG2000Lossless, RLELossless

from generator.__main__ import main
from generator.ingest.dicom import ingest_dicom
from tests.generator.ingest.conftest import hu_at_lps, lps_series, write_series


def _only_case(out):
    (case,) = [p for p in out.iterdir() if p.is_dir()]
    return case


ORIENTATIONS = {
    "axial": (1, 0, 0, 0, 1, 0),
    "axial, feet first": (-1, 0, 0, 0, 1, 0),
    "sagittal": (0, 1, 0, 0, 0, -1),
    "coronal": (1, 0, 0, 0, 0, -1),
}


@pytest.mark.parametrize("orientation", ORIENTATIONS.values(), ids=ORIENTATIONS.keys())
def test_a_shuffled_series_gives_back_its_hu_exactly_on_a_ras_grid(tmp_path, orientation):
    lps_series(tmp_path / "src" / "patient" / "series", orientation=orientation)
    outcomes = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert [o.status for o in outcomes] == ["made"]
    img = nib.load(_only_case(tmp_path / "out") / "ct.nii.gz")
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S") and img.get_data_dtype() == np.int16
    ijk = np.stack(np.meshgrid(*map(np.arange, img.shape), indexing="ij"), -1).reshape(-1, 3)
    ras = nib.affines.apply_affine(img.affine, ijk)
    expected = hu_at_lps(ras * [-1, -1, 1]).reshape(img.shape)
    assert sorted(img.shape) == [6, 7, 9] and np.allclose(sorted(img.header.get_zooms()), [1, 1, 2])
    assert np.array_equal(np.asanyarray(img.dataobj), expected)


@pytest.mark.parametrize("compression", [RLELossless, JPEG2000Lossless], ids=["RLE", "JPEG 2000"])
def test_a_losslessly_compressed_series_gives_back_its_hu_exactly(tmp_path, compression):
    planes = np.random.default_rng(0).integers(-1024, 3000, (3, 48, 40)).astype(np.int16)
    write_series(tmp_path / "src", planes, np.array([[0.0, 0.0, 2.0 * k] for k in range(3)]), compression=compression)
    assert pydicom.dcmread(next((tmp_path / "src").iterdir())).file_meta.TransferSyntaxUID == compression
    (outcome,) = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert outcome.status == "made", outcome.message
    # axial LPS to RAS: voxel (i, j, k) is pixel (row 47 - j, column 39 - i) of slice k
    expected = planes[:, ::-1, ::-1].transpose(2, 1, 0)
    assert np.array_equal(np.asanyarray(nib.load(_only_case(tmp_path / "out") / "ct.nii.gz").dataobj), expected)


def test_no_tag_but_geometry_reaches_the_case(tmp_path):
    lps_series(tmp_path / "src")
    ingest_dicom(tmp_path / "src", tmp_path / "out")
    case = _only_case(tmp_path / "out")
    written = b"".join(p.read_bytes() for p in case.iterdir() if p.suffix == ".json")
    header = nib.load(case / "ct.nii.gz").header
    for secret in (b"Doe", b"P-123", b"20240101", b"ACC1"):
        assert secret not in written and secret not in header.binaryblock
    assert case.name.startswith("case-") and "ACC1" not in case.name


def test_a_series_with_a_missing_slice_is_refused_naming_it(tmp_path):
    lps_series(tmp_path / "src" / "chest", skip=3)
    (outcome,) = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert outcome.status == "refused" and outcome.reason == "missing slice"
    assert "series 3 in chest" in outcome.message and "gap of 4.000 mm" in outcome.message
    assert not any(p.is_dir() for p in (tmp_path / "out").iterdir())


def test_a_tilted_series_is_refused_as_gantry_tilt(tmp_path):
    planes = np.zeros((4, 8, 8), np.int16)
    positions = np.array([[0.3 * k, 0.0, 2.0 * k] for k in range(4)])
    write_series(tmp_path / "src", planes, positions)
    (outcome,) = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert outcome.reason == "gantry tilt" and "drift 0.90 mm sideways" in outcome.message


def test_a_series_with_mixed_orientations_is_refused(tmp_path):
    uid = write_series(tmp_path / "src", np.zeros((3, 8, 8), np.int16), np.array([[0, 0, 2.0 * k] for k in range(3)]))
    write_series(
        tmp_path / "src",
        np.zeros((1, 8, 8), np.int16),
        np.array([[0, 0, 6.0]]),
        orientation=(0, 1, 0, 1, 0, 0),
        uid=uid,
    )
    (outcome,) = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert outcome.reason == "mixed orientations"


def test_a_series_that_is_not_ct_is_refused(tmp_path):
    lps_series(tmp_path / "src", modality="MR")
    (outcome,) = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert outcome.reason == "not CT" and "modality MR, not CT" in outcome.message


def test_a_series_with_an_undecodable_slice_is_refused_naming_the_file(tmp_path):
    lps_series(tmp_path / "src")
    victim = sorted((tmp_path / "src").iterdir())[2]
    victim.write_bytes(victim.read_bytes()[:-40])
    (outcome,) = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert outcome.reason == "unreadable file" and victim.name in outcome.message


def test_pydicoms_one_slice_ct_small_is_refused_with_a_clear_message(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "CT_small.dcm").write_bytes(open(get_testdata_file("CT_small.dcm"), "rb").read())
    (outcome,) = ingest_dicom(tmp_path / "src", tmp_path / "out")
    assert outcome.reason == "one slice" and "one slice only; a volume needs at least two" in outcome.message


def test_two_series_in_one_folder_become_two_cases_with_their_reports(tmp_path):
    lps_series(tmp_path / "src" / "mixed", accession="A1", seed=1)
    lps_series(tmp_path / "src" / "mixed", accession="A2", seed=2)
    reports = tmp_path / "reports.csv"
    reports.write_text("Accession,Findings,Impression\nA1,Clear lungs.,Normal.\nA2,Right effusion.,Effusion.\n")
    status = main(
        ["ingest", "dicom", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--reports", str(reports)]
        + ["--id-column", "Accession", "--id-tag", "AccessionNumber"]
    )
    assert status == 0
    texts = sorted((p / "report.txt").read_text() for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert texts == [
        "FINDINGS: Clear lungs.\nIMPRESSION: Normal.\n",
        "FINDINGS: Right effusion.\nIMPRESSION: Effusion.\n",
    ]


def test_a_rerun_skips_the_cases_already_made_under_the_same_names(tmp_path, capsys):
    lps_series(tmp_path / "src" / "s1", seed=1)
    args = ["ingest", "dicom", str(tmp_path / "src"), "--out", str(tmp_path / "out")]
    assert main(args) == 0
    first = _only_case(tmp_path / "out").name
    lps_series(tmp_path / "src" / "s2", seed=2)
    capsys.readouterr()
    assert main(args + ["--workers", "2"]) == 0
    table = capsys.readouterr().out
    assert "skipped: already done      1" in table and "made: no report            1" in table, table
    rows = list(csv.DictReader((tmp_path / "out" / "ingest-map.csv").open()))
    assert first in [r["case"] for r in rows] and len(rows) == 2
    assert sorted(r["source"].rsplit("/", 1)[-1] for r in rows) == ["s1", "s2"]


@pytest.mark.parametrize("bad", ["nope", "empty"])
def test_the_command_refuses_a_source_without_dicom_images(tmp_path, capsys, bad):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("not DICOM")
    assert main(["ingest", "dicom", str(tmp_path / bad), "--out", str(tmp_path / "out")]) == 2
    assert "error:" in capsys.readouterr().err


def test_the_command_refuses_an_id_tag_that_is_not_a_dicom_keyword(tmp_path, capsys):
    lps_series(tmp_path / "src")
    reports = tmp_path / "r.csv"
    reports.write_text("AccessionNumber,Findings,Impression\n")
    args = ["ingest", "dicom", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--reports", str(reports)]
    assert main(args + ["--id-tag", "AccesionNumber"]) == 2
    assert "--id-tag AccesionNumber: not a DICOM keyword" in capsys.readouterr().err
