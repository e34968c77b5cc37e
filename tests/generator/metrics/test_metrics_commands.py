"""`python -m generator evaluate` and `train-features` from the command line."""

from __future__ import annotations

import csv
import json
import re

from generator.__main__ import main


def test_evaluate_writes_cases_metrics_and_plots(phantom_sets, tmp_path, capsys):
    out = tmp_path / "eval"
    status = main(
        [
            "evaluate",
            "--real",
            str(phantom_sets["real"]),
            "--generated",
            str(phantom_sets["generated"]),
            "--out",
            str(out),
            "--random-features",
            "0",
        ]
    )
    assert status == 0
    rows = list(csv.DictReader((out / "cases.csv").open()))
    assert list(rows[0]) == ["case", "set", "effusion_ml", "ctr", "laa950_percent", "airway_mm3"]
    assert [r["set"] for r in rows].count("real") == 4 and len(rows) == 8
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["fid"] > 0 and "mmd" in metrics and metrics["features"]["name"] == "random-cnn"
    assert set(metrics["sets"]["real"]["ctr"]) == {"mean", "sd"}
    assert all(
        (out / f"{name}.png").stat().st_size > 0 for name in ("effusion_ml", "ctr", "laa950_percent", "airway_mm3")
    )


def test_evaluate_without_features_reports_no_fid(phantom_sets, tmp_path):
    out = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "--real",
                str(phantom_sets["real"]),
                "--generated",
                str(phantom_sets["real"]),
                "--out",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["fid"] is None and metrics["mmd"] is None


def test_evaluate_names_a_missing_folder_and_exits_2(tmp_path, capsys):
    status = main(
        ["evaluate", "--real", str(tmp_path / "nowhere"), "--generated", str(tmp_path), "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err
    assert status == 2 and "nowhere: no such folder" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_train_features_then_evaluate_with_them(phantom_sets, tmp_path, capsys):
    assert (
        main(
            [
                "train-features",
                "--data",
                str(phantom_sets["real"]),
                "--out",
                str(tmp_path / "fx"),
                "--epochs",
                "1",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "evaluate",
                "--real",
                str(phantom_sets["real"]),
                "--generated",
                str(phantom_sets["generated"]),
                "--out",
                str(tmp_path / "eval"),
                "--features",
                str(tmp_path / "fx"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["features"]["name"] == "phantom-findings-cnn"


def test_train_features_rejects_a_folder_without_cases(tmp_path, capsys):
    assert main(["train-features", "--data", str(tmp_path), "--out", str(tmp_path / "fx")]) == 2
    assert "at least 2 case folders" in capsys.readouterr().err


def _broken_set(phantom_sets, tmp_path):
    """A copy of the generated set plus one case of each fault: NaN block, model-space CT, no ct.nii.gz."""
    import shutil

    import numpy as np

    from generator.data.cases import read_case, save_image

    broken = tmp_path / "broken"
    shutil.copytree(phantom_sets["generated"], broken)
    case = read_case(broken / "case-0000")
    ct = case.ct.astype(np.float32)
    ct[8:16, 8:16, 8:16] = np.nan
    shutil.copytree(broken / "case-0000", broken / "nan-block")
    save_image(ct, case.affine, broken / "nan-block" / "ct.nii.gz")
    shutil.copytree(broken / "case-0000", broken / "model-space")
    save_image(np.clip(case.ct / 1024.0, -1, 1).astype(np.float32), case.affine, broken / "model-space" / "ct.nii.gz")
    (broken / "no-ct").mkdir()
    (broken / "no-ct" / "report.txt").write_text("FINDINGS: x\nIMPRESSION: y\n")
    return broken


def test_evaluate_refuses_nan_model_space_and_ct_less_cases_by_name_and_counts_them(phantom_sets, tmp_path, capsys):
    broken = _broken_set(phantom_sets, tmp_path)
    args = ["evaluate", "--real", str(phantom_sets["real"]), "--generated", str(broken), "--out", str(tmp_path / "e")]
    assert main(args + ["--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert "nan-block/ct.nii.gz: holds 512 NaN or infinite values" in captured.err
    assert "model-space/ct.nii.gz: no voxel below -500 HU" in captured.err
    assert "no-ct: no ct.nii.gz" in captured.err
    for label, n in (("measured: generated", 4), ("refused: NaN values", 1), ("refused: not HU", 1)):
        assert re.search(rf"^{label} +{n}$", captured.out, re.MULTILINE), label
    rows = list(csv.DictReader((tmp_path / "e" / "cases.csv").open()))
    assert {r["case"] for r in rows if r["set"] == "generated"} == {f"case-{i:04d}" for i in range(4)}
    refused = json.loads((tmp_path / "e" / "metrics.json").read_text())["refused"]
    assert sorted(r["reason"] for r in refused) == ["NaN values", "no ct.nii.gz", "not HU"]


def test_evaluate_is_an_error_when_a_set_has_no_measurable_volume(phantom_sets, tmp_path, capsys):
    (tmp_path / "empty" / "no-ct").mkdir(parents=True)
    (tmp_path / "empty" / "x.nii.gz").write_bytes(b"not a NIfTI file")
    args = ["evaluate", "--real", str(phantom_sets["real"]), "--generated", str(tmp_path / "empty")]
    assert main(args + ["--out", str(tmp_path / "e"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "no volume of the generated set could be measured" in err and "x.nii.gz: not a readable NIfTI" in err
