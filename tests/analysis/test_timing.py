"""Reading time: median and IQR per task kind, per ranking set and per source of each single-scan task."""

import pandas as pd
import pytest

from studies.analysis.report import reading_time_paragraph
from studies.analysis.timing import reading_times


def test_a_rankings_seconds_count_once_per_set_and_recognition_once_per_answer():
    rankings = pd.DataFrame(
        {
            "reader": ["r1"] * 4 + ["r2"] * 4,
            "set": ["s1"] * 4 + ["s1"] * 4,
            "source": list("abcd") * 2,
            "seconds": [10.0] * 4 + [30.0] * 4,
        }
    )
    pathology = pd.DataFrame(
        {
            "source": ["real", "real", "medsyn", "medsyn"],
            "answer": ["x", "x", "x", ""],
            "seconds": [1.0, 3.0, 8.0, 99.0],
        }
    )
    table = reading_times(rankings, pathology).set_index(["task", "value"])
    assert table.loc[("ranking", "all"), ["n", "median", "q1", "q3"]].tolist() == [2, 20.0, 15.0, 25.0]
    assert table.loc[("ranking", "s1"), "n"] == 2
    assert table.loc[("recognition", "all"), "n"] == 3  # the unanswered item is not a reading
    assert table.loc[("recognition", "real"), ["median", "q1", "q3"]].tolist() == pytest.approx([2.0, 1.5, 2.5])


def test_times_not_recorded_are_left_out():
    rankings = pd.DataFrame({"reader": ["r1", "r2"], "set": ["s1", "s1"], "seconds": [float("nan"), 12.0]})
    assert reading_times(rankings, None)["n"].tolist() == [1, 1]


def test_ratings_and_judgements_get_their_own_times_per_source():
    ratings = pd.DataFrame({"source": ["real", "medsyn", "medsyn"], "seconds": [4.0, 6.0, 8.0]})
    judged = pd.DataFrame({"source": ["real", "real"], "seconds": [20.0, 30.0]})
    table = reading_times(None, None, ratings=ratings, discrimination=judged).set_index(["task", "value"])
    assert table.loc[("rating", "all"), ["n", "median"]].tolist() == [3, 6.0]
    assert table.loc[("rating", "medsyn"), "median"] == 7.0 and table.loc[("discrimination", "real"), "n"] == 2


def test_the_report_keeps_each_tasks_per_source_times_apart():
    times = reading_times(
        None,
        pd.DataFrame({"source": ["real"], "answer": ["x"], "seconds": [5.0]}),
        ratings=pd.DataFrame({"source": ["real"], "seconds": [9.0]}),
    ).to_dict("records")
    text = reading_time_paragraph(times)
    assert "Per recognition source: real 5.0" in text and "Per rated source: real 9.0" in text
    assert "a rating 9.0" in text
