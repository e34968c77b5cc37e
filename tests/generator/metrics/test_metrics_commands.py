"""`python -m generator evaluate` and `train-features` from the command line."""

from __future__ import annotations

import csv
import json

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
