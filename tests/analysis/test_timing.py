"""Reading time: median and IQR per task kind, per ranking set and per recognition source."""

import pandas as pd
import pytest

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
