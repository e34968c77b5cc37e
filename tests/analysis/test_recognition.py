"""Recognition accuracy with Wilson intervals, and the notes for manual review."""

import pandas as pd
import pytest

from studies.analysis.notes import notes
from studies.analysis.recognition import recognition_summary, wilson_interval
from studies.analysis.tables import validate_pathology
from tests.analysis.conftest import make_pathology


@pytest.mark.parametrize(
    ("correct", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_the_wilson_interval_matches_newcombes_published_values(correct, n, low, high):
    """Newcombe (1998), Statistics in Medicine 17:857–872, Table II, method 3 (Wilson score, no continuity
    correction).
    """
    assert wilson_interval(correct, n) == pytest.approx([low, high], abs=5e-5)


def test_all_correct_gives_an_upper_limit_of_one():
    assert wilson_interval(10, 10)[1] == 1.0


def test_it_counts_correct_answers_overall_by_truth_by_source_and_by_volume():
    summary = recognition_summary(validate_pathology(make_pathology()))
    assert summary["overall"]["n"] == 36
    assert summary["overall"]["correct"] == 31
    assert summary["by_source"]["real"] == {
        "n": 6,
        "correct": 6,
        "accuracy": 1.0,
        "ci95": pytest.approx(wilson_interval(6, 6)),
        "ci95_clustered": pytest.approx(wilson_interval(6, 6)),  # all correct: no clustering to measure
        "ci95_two_way": pytest.approx(wilson_interval(6, 6)),
    }
    assert summary["by_truth"]["Pleural effusion"]["n"] == 12
    volume = next(v for v in summary["by_volume"] if v["volume"] == "medsyn-5")
    assert volume == {"volume": "medsyn-5", "source": "medsyn", "truth": "No abnormalities", "n": 6, "correct": 4}


def test_unanswered_items_are_not_counted_as_wrong():
    table = make_pathology()
    table.loc[0, "answer"] = ""
    assert recognition_summary(validate_pathology(table))["overall"]["n"] == 35


def test_notes_are_carried_through_for_manual_review():
    table = validate_pathology(make_pathology())
    review = notes(table)
    assert len(review) == (table["note"] != "").sum() > 0
    assert list(review.columns) == ["task", "reader", "volume", "source", "truth", "answer", "correct", "note"]
    assert isinstance(review, pd.DataFrame)
