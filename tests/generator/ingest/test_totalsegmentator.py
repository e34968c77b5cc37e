"""`ingest totalsegmentator`: TotalSegmentator-named files built from a phantom's masks give those masks back."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np

from generator.__main__ import main
from generator.data.cases import read_case, save_image
from generator.ingest.totalsegmentator import LOBE_FILES, ingest_all, ingest_single


def _ct_case(phantom, folder) -> None:
    """A source case folder as ingest dicom writes it: ct.nii.gz, report.txt and meta.json."""
    folder.mkdir(parents=True)
    save_image(phantom.ct, phantom.affine, folder / "ct.nii.gz")
    (folder / "report.txt").write_text(phantom.report)
    (folder / "meta.json").write_text(json.dumps({"ingest": {"source": "dicom"}}))


def _ts_output(phantom, folder, tasks=("total", "lung_vessels"), affine=None) -> None:
    """TotalSegmentator's per-structure files (0/1 uint8 on the CT's grid) for the phantom's masks."""
    folder.mkdir(parents=True)
    affine = phantom.affine if affine is None else affine
    if "total" in tasks:
        for name, label in LOBE_FILES.items():
            save_image((phantom.lobes == label).astype(np.uint8), affine, folder / f"{name}.nii.gz")
        save_image(np.zeros(phantom.ct.shape, np.uint8), affine, folder / "heart.nii.gz")
    if "lung_vessels" in tasks:
        save_image(phantom.airway, affine, folder / "lung_trachea_bronchia.nii.gz")
        save_image(phantom.vessels, affine, folder / "lung_vessels.nii.gz")


def test_totalsegmentator_files_give_the_phantoms_masks_back_exactly(phantom, tmp_path):
    _ct_case(phantom, tmp_path / "cases" / "a")
    _ts_output(phantom, tmp_path / "ts" / "a")
    (outcome,) = ingest_single(tmp_path / "ts" / "a", tmp_path / "cases" / "a")
    assert outcome.status == "made" and outcome.reason == ""
    case = read_case(tmp_path / "cases" / "a")
    for name in ("lobes", "airway", "vessels"):
        assert np.array_equal(getattr(case, name), getattr(phantom, name)), name
    assert case.meta["masks"]["lobes"] == {"from": "TotalSegmentator total task", "resampled": False}
    assert case.meta["ingest"] == {"source": "dicom"}


def test_only_the_total_task_gives_lobes_and_says_which_masks_are_missing(phantom, tmp_path):
    _ct_case(phantom, tmp_path / "cases" / "a")
    _ts_output(phantom, tmp_path / "ts" / "a", tasks=("total",))
    (outcome,) = ingest_single(tmp_path / "ts" / "a", tmp_path / "cases" / "a")
    assert outcome.reason == "without airway, vessels"
    case = read_case(tmp_path / "cases" / "a", allow_missing_masks=True)
    assert case.missing == ("airway", "vessels") and np.array_equal(case.lobes, phantom.lobes)


def test_a_missing_lobe_file_is_refused_naming_it(phantom, tmp_path):
    _ct_case(phantom, tmp_path / "cases" / "a")
    _ts_output(phantom, tmp_path / "ts" / "a")
    (tmp_path / "ts" / "a" / "lung_middle_lobe_right.nii.gz").unlink()
    (outcome,) = ingest_single(tmp_path / "ts" / "a", tmp_path / "cases" / "a")
    assert outcome.reason == "partial lobes" and "lung_middle_lobe_right missing" in outcome.message
    assert not (tmp_path / "cases" / "a" / "lobes.nii.gz").exists()


def test_masks_on_another_grid_are_refused_unless_resampled_by_nearest_neighbour(phantom, tmp_path):
    _ct_case(phantom, tmp_path / "cases" / "a")
    n = phantom.ct.shape[0]
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip[0, 3] = n - 1  # the same voxels, stored in LAS order
    flipped = {name: np.ascontiguousarray(getattr(phantom, name)[::-1]) for name in ("lobes", "airway", "vessels")}
    _ts_output(type(phantom)(**{**phantom.__dict__, **flipped}), tmp_path / "ts" / "a", affine=phantom.affine @ flip)
    (refused,) = ingest_single(tmp_path / "ts" / "a", tmp_path / "cases" / "a")
    assert refused.reason == "grid mismatch" and "pass --resample" in refused.message
    (made,) = ingest_single(tmp_path / "ts" / "a", tmp_path / "cases" / "a", resample=True)
    assert made.reason == "resampled"
    assert np.array_equal(read_case(tmp_path / "cases" / "a").lobes, phantom.lobes)


def test_a_folder_of_cases_is_matched_by_name_and_a_rerun_skips_them(phantom, tmp_path, capsys):
    for name in ("a", "b"):
        _ct_case(phantom, tmp_path / "cases" / name)
    _ts_output(phantom, tmp_path / "ts" / "a")
    _ts_output(phantom, tmp_path / "ts" / "stray")
    outcomes = {o.case: (o.status, o.reason) for o in ingest_all(tmp_path / "ts", tmp_path / "cases")}
    assert outcomes == {
        "a": ("made", ""),
        "b": ("skipped", "no TotalSegmentator folder"),
        "stray": ("skipped", "no case folder"),
    }
    args = ["ingest", "totalsegmentator", str(tmp_path / "ts"), "--cases", str(tmp_path / "cases")]
    assert main(args) == 0
    assert "skipped: already done" in capsys.readouterr().out
    assert nib.load(tmp_path / "cases" / "a" / "lobes.nii.gz").get_data_dtype() == np.uint8
