"""The case dataset: full- and quarter-resolution model-space tensors streamed from case folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from generator.data.cases import CaseError, write_case
from generator.data.dataset import CaseDataset
from generator.data.model_space import from_model


def test_an_item_holds_the_volume_its_4x_nearest_neighbour_version_and_the_report(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    item = CaseDataset(tmp_path)[0]
    assert item["x"].shape == (4, 32, 32, 32) and item["x"].dtype == torch.float32
    assert item["x_low"].shape == (4, 8, 8, 8)
    assert torch.equal(item["x_low"], item["x"][:, ::4, ::4, ::4])
    assert item["report"] == small_case.report and item["case"] == "a"


def test_an_item_decodes_back_to_its_case(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    back = from_model(CaseDataset(tmp_path)[0]["x"].numpy(), small_case.affine)
    assert np.array_equal(back.lobes, small_case.lobes)
    assert np.array_equal(back.ct, np.clip(small_case.ct, -1024, 600))


def test_it_accepts_a_list_of_case_folders_and_roots(small_case, tmp_path):
    for name in ("a", "b"):
        write_case(small_case, tmp_path / "root" / name)
    write_case(small_case, tmp_path / "c")
    dataset = CaseDataset([tmp_path / "root", tmp_path / "c"])
    assert [f.name for f in dataset.folders] == ["a", "b", "c"]


def test_it_leaves_out_hidden_folders_such_as_a_case_being_written(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    write_case(small_case, tmp_path / ".a.partial")
    assert [f.name for f in CaseDataset(tmp_path).folders] == ["a"]


def test_it_refuses_a_folder_without_cases(tmp_path):
    with pytest.raises(CaseError, match="holds no case folders"):
        CaseDataset(tmp_path)


def test_without_full_resolution_an_item_holds_only_the_low_resolution_volume(tmp_path, small_case):
    write_case(small_case, tmp_path / "a")
    item = CaseDataset(tmp_path, full=False)[0]
    assert "x" not in item
    assert torch.equal(item["x_low"], CaseDataset(tmp_path)[0]["x_low"])


def test_cases_lacking_masks_are_refused_up_front_naming_them(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    write_case(type(small_case)(**{**small_case.__dict__, "missing": ("airway", "vessels")}), tmp_path / "b")
    with pytest.raises(CaseError, match=r"1 cases lack masks: b \(airway, vessels\) \(pass --allow-missing-masks"):
        CaseDataset(tmp_path)


def test_with_missing_masks_allowed_an_item_says_which_channels_are_present(small_case, tmp_path):
    write_case(small_case, tmp_path / "a")
    write_case(type(small_case)(**{**small_case.__dict__, "missing": ("lobes", "vessels")}), tmp_path / "b")
    dataset = CaseDataset(tmp_path, allow_missing_masks=True)
    assert dataset[0]["present"].tolist() == [True, True, True, True]
    assert dataset[1]["present"].tolist() == [True, False, True, False]
    assert torch.all(dataset[1]["x"][1] == -1) and torch.equal(dataset[1]["x"][2], dataset[0]["x"][2])
