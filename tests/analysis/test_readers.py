"""The reader summary: how many, how experienced, how long."""

import pytest

from studies.analysis.readers import readers_summary
from studies.analysis.tables import validate_readers
from tests.analysis.conftest import make_readers


def test_it_counts_readers_and_those_who_finished():
    summary = readers_summary(validate_readers(make_readers()))
    assert (summary["count"], summary["finished"]) == (6, 5)


def test_minutes_are_the_mean_and_sample_sd_of_finished_readers():
    summary = readers_summary(validate_readers(make_readers()))
    finished = [30 + 2.5 * i for i in range(1, 6)]
    assert summary["minutes"]["mean"] == pytest.approx(sum(finished) / 5)
    assert summary["minutes"]["sd"] == pytest.approx(3.952847, abs=1e-6)


def test_experience_is_summarised_with_levels():
    summary = readers_summary(validate_readers(make_readers()))
    assert summary["experience"]["min"] == 7 and summary["experience"]["max"] == 22
    assert summary["experience"]["by_level"] == {"resident": 2, "junior": 1, "senior": 2, "faculty": 1}


def test_missing_experience_is_left_out_not_counted_as_zero():
    readers = make_readers()
    readers.loc[0, "years_experience"] = ""
    summary = readers_summary(validate_readers(readers))
    assert summary["experience"]["n"] == 5
    assert summary["experience"]["min"] == 10
