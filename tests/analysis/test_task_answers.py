"""ratings.csv and discrimination.csv: refused, naming file and row, when they are not what the platform writes or do
not fit the design; header-only files mean no answers yet."""

import json

import pandas as pd
import pytest

from studies.analysis.design import validate_design
from studies.analysis.summary import analyze
from studies.analysis.tables import read_discrimination, read_ratings, validate_discrimination, validate_ratings
from studies.cli import main
from studies.errors import StudyError
from tests.analysis.conftest import make_discrimination, make_ratings


def _design() -> object:
    """design.csv rows of the conftest rating and discrimination tasks."""
    rating = make_ratings(1)[["volume", "source"]].assign(task="rating", truth="")
    discrimination = make_discrimination(1)[["volume", "source", "truth"]].assign(task="discrimination")
    rows = pd.concat([rating, discrimination], ignore_index=True).assign(structure="", set="")
    return validate_design(rows, "design.csv")


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("score", "6", r"ratings.csv, row 4: score 6 is outside 1..5 \(the scale\)"),
        ("score", "0", r"ratings.csv, row 4: score 0 is outside 1..5"),
        ("score", "3.5", r"ratings.csv, row 4: score '3.5' is not a whole number"),
        ("score", "good", r"ratings.csv, row 4: score 'good' is not a whole number"),
        ("score", "", r"ratings.csv, row 4: empty score"),
        ("scale", "11", r"ratings.csv, row 4: scale 11 is outside 2..10 points"),
        ("scale", "7", r"ratings.csv, row 4: scale 7 differs from the 5 points of row 2"),
        ("reader", "", r"ratings.csv, row 4: empty reader"),
        ("seconds", "-3", r"ratings.csv, row 4: seconds '-3' is negative"),
    ],
)
def test_a_bad_rating_is_refused_naming_the_row(column, value, message):
    ratings = make_ratings()
    ratings.loc[2, column] = value
    with pytest.raises(StudyError, match=message):
        validate_ratings(ratings)


def test_a_second_rating_of_one_volume_by_one_reader_is_refused():
    ratings = make_ratings()
    ratings = pd.concat([ratings, ratings.iloc[[3]]], ignore_index=True)
    with pytest.raises(
        StudyError, match=rf"row {len(ratings) + 1}: reader-01 answered volume .* twice \(first at row 5\)"
    ):
        validate_ratings(ratings)


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("answer", "fake", r"discrimination.csv, row 3: answer 'fake' is not one of real, synthetic"),
        ("truth", "generated", r"discrimination.csv, row 3: truth 'generated' is not one of real, synthetic"),
        ("confidence", "6", r"discrimination.csv, row 3: confidence 6 is outside 1..5"),
        ("confidence", "0", r"discrimination.csv, row 3: confidence 0 is outside 1..5"),
        ("confidence", "sure", r"discrimination.csv, row 3: confidence 'sure' is not a whole number"),
        ("correct", "yes", r"discrimination.csv, row 3: correct 'yes' is not True or False"),
        ("volume", "", r"discrimination.csv, row 3: empty volume"),
    ],
)
def test_a_bad_discrimination_answer_is_refused_naming_the_row(column, value, message):
    answers = make_discrimination()
    answers.loc[1, column] = value
    with pytest.raises(StudyError, match=message):
        validate_discrimination(answers)


def test_correct_must_say_whether_the_answer_is_the_truth():
    answers = make_discrimination()
    answers.loc[1, "correct"] = str(answers.loc[1, "correct"] != "True")
    with pytest.raises(StudyError, match=r"discrimination.csv, row 3: correct is .* but the answer .* and the truth"):
        validate_discrimination(answers)


def test_answers_are_case_insensitive_and_correct_becomes_a_boolean():
    answers = make_discrimination()
    answers["answer"] = answers["answer"].str.upper()
    answers["correct"] = answers["correct"].str.lower()
    table = validate_discrimination(answers)
    assert set(table["answer"]) <= {"real", "synthetic"} and table["correct"].dtype == bool


def test_a_volume_of_two_sources_or_two_truths_is_refused_naming_both_rows():
    answers = make_discrimination()
    later = answers.index[(answers["volume"] == "tell-real-2") & (answers["reader"] == "reader-02")][0]
    answers.loc[later, ["source", "truth", "correct"]] = [
        "medsyn",
        "synthetic",
        str(answers.loc[later, "answer"] == "synthetic"),
    ]
    with pytest.raises(
        StudyError, match=rf"row {later + 2}: volume 'tell-real-2' has source 'medsyn', but 'real' at row 3"
    ):
        validate_discrimination(answers)
    ratings = make_ratings()
    ratings.loc[40, "source"] = "medsyn" if ratings.loc[40, "source"] != "medsyn" else "real"
    with pytest.raises(StudyError, match=r"ratings.csv, row 42: volume .* has source"):
        validate_ratings(ratings)


def test_a_second_discrimination_answer_to_one_volume_is_refused():
    answers = make_discrimination()
    answers = pd.concat([answers, answers.iloc[[0]]], ignore_index=True)
    with pytest.raises(StudyError, match=r"reader-01 answered volume 'tell-real-1' twice \(first at row 2\)"):
        validate_discrimination(answers)


@pytest.mark.parametrize(
    "table, column, value, message",
    [
        ("ratings", "source", "stylegan", r"ratings.csv, row 2: source 'stylegan' is 'real' in the design"),
        (
            "ratings",
            "volume",
            "v-unknown",
            r"ratings.csv, row 2: volume 'v-unknown' is not a rating volume of the design",
        ),
        (
            "discrimination",
            "volume",
            "rate-real-1",
            r"discrimination.csv, row 2: volume 'rate-real-1' is not a discrimination volume of the design",
        ),
        ("discrimination", "source", "medsyn", r"discrimination.csv, row 2: source 'medsyn' is 'real' in the design"),
    ],
)
def test_answers_that_do_not_fit_the_design_are_refused_naming_the_row(table, column, value, message):
    ratings, discrimination = make_ratings(), make_discrimination()
    (ratings if table == "ratings" else discrimination).loc[0, column] = value
    with pytest.raises(StudyError, match=message):
        analyze(None, ratings=ratings, discrimination=discrimination, design=_design())


def test_a_truth_other_than_the_designs_is_refused():
    answers = make_discrimination()
    answers.loc[0, ["truth", "answer", "correct"]] = ["synthetic", "synthetic", "True"]
    with pytest.raises(StudyError, match=r"discrimination.csv, row 2: truth 'synthetic' is 'real' in the design"):
        analyze(None, discrimination=answers, design=_design())


def test_header_only_files_mean_no_answers_yet(tmp_path):
    for name, frame in (("ratings.csv", make_ratings()), ("discrimination.csv", make_discrimination())):
        frame.head(0).to_csv(tmp_path / name, index=False)
    summary = analyze(
        None,
        ratings=read_ratings(tmp_path / "ratings.csv"),
        discrimination=read_discrimination(tmp_path / "discrimination.csv"),
    )
    assert summary["rating"] == {"n_ratings": 0, "note": "no rating answers yet"}
    assert summary["discrimination"] == {"n_answers": 0, "note": "no discrimination answers yet"}


def test_analyze_with_only_ratings_and_discrimination_writes_their_summary_tables_and_plots(export, tmp_path, capsys):
    out = tmp_path / "analysis"
    status = main(
        [
            "analyze",
            "--ratings",
            str(export["ratings"]),
            "--discrimination",
            str(export["discrimination"]),
            "--out",
            str(out),
        ]
    )
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranking"] == {} and summary["pathology"] is None
    assert list(summary["rating"]["by_source"]) == ["real", "ha-gan", "medsyn"]  # the results' one order
    assert {"mean", "median", "sd", "n", "counts"} <= set(summary["rating"]["by_source"]["real"])
    assert {"p", "method", "pairwise"} <= set(summary["rating"]["comparison"])
    assert {"krippendorff_alpha", "icc", "icc_ci95", "icc_kind"} <= set(summary["rating"]["agreement"])
    assert {
        "accuracy",
        "accuracy_ci95",
        "auc",
        "auc_ci95",
        "auc_p",
        "by_reader",
        "by_source",
        "n_readers",
        "n_volumes",
    } <= set(summary["discrimination"])
    assert set(summary["discrimination"]["by_reader"][0]) == {"reader", "n", "accuracy", "auc"}
    names = {path.name for path in out.iterdir()}
    assert {"ratings.png", "discrimination_roc.png", "rating_by_source.csv", "discrimination_accuracy.csv"} <= names
    report = (out / "report.md").read_text()
    assert "## Realism rating" in report and "## Real or synthetic" in report and "Krippendorff" in report
    assert "AUC = 0.5" in report
    printed = capsys.readouterr().out
    assert "ratings: 72 on a 5-point scale" in printed and "discrimination: 72 answers" in printed


def test_analyze_with_header_only_files_says_no_answers_yet(export, tmp_path, capsys):
    pd.read_csv(export["ratings"]).head(0).to_csv(export["ratings"], index=False)
    pd.read_csv(export["discrimination"]).head(0).to_csv(export["discrimination"], index=False)
    out = tmp_path / "analysis"
    assert (
        main(
            [
                "analyze",
                "--ratings",
                str(export["ratings"]),
                "--discrimination",
                str(export["discrimination"]),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = (out / "report.md").read_text()
    assert "no rating answers yet" in report and "no discrimination answers yet" in report
    assert "ratings: no rating answers yet" in capsys.readouterr().out


def test_analyze_needs_at_least_one_answer_file(tmp_path, capsys):
    assert main(["analyze", "--out", str(tmp_path / "out")]) == 2
    assert "give at least one of --rankings, --pathology, --ratings, --discrimination" in capsys.readouterr().err
