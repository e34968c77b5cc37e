"""write_results: the analysis as files in one folder, never mixed with the files of an earlier run."""

import pandas as pd
import pytest

from studies.analysis.notes import notes
from studies.analysis.results import FILES, write_results
from studies.analysis.summary import analyze
from studies.analysis.tables import validate_pathology
from tests.analysis.conftest import make_discrimination, make_pathology, make_ratings, make_readers


def test_files_names_every_file_a_full_run_writes(rankings, tmp_path):
    pathology = validate_pathology(make_pathology())
    summary = analyze(
        rankings,
        pathology,
        make_readers(),
        posthoc="nemenyi",
        ratings=make_ratings(),
        discrimination=make_discrimination(),
    )
    written = write_results(summary, tmp_path, notes(pathology))
    assert {path.name for path in written} == FILES


def test_a_later_run_removes_the_files_it_no_longer_writes(rankings, tmp_path):
    """A run with pathology, then one without: recognition.png and its tables must not survive as if current."""
    write_results(analyze(rankings, make_pathology()), tmp_path)
    assert (tmp_path / "recognition.png").exists()
    written = write_results(analyze(rankings), tmp_path)
    names = {path.name for path in tmp_path.iterdir()}
    assert names == {path.name for path in written}
    assert not names & {"recognition.png", "recognition.csv", "recognition_by_volume.csv"}


def test_it_never_removes_files_it_does_not_own(rankings, tmp_path):
    (tmp_path / "my-notes.md").write_text("keep me")
    (tmp_path / "recognition.png.bak").write_text("keep me too")
    write_results(analyze(rankings), tmp_path)
    assert (tmp_path / "my-notes.md").read_text() == "keep me"
    assert (tmp_path / "recognition.png.bak").exists()


def test_a_summary_without_rankings_writes_recognition_only(tmp_path):
    written = write_results(analyze(None, make_pathology()), tmp_path)
    assert {path.name for path in written} == {
        "summary.json",
        "report.md",
        "recognition.csv",
        "recognition_by_volume.csv",
        "recognition.png",
        "reading_time.csv",
    }


def test_the_readers_table_summarises_experience_levels_and_minutes_of_finished_readers(rankings, tmp_path):
    """Six readers with 7, 10, …, 22 years; the five who finished took 32.5 … 42.5 min (mean 37.5, SD √15.625)."""
    write_results(analyze(rankings, readers=make_readers()), tmp_path)
    row = pd.read_csv(tmp_path / "readers_summary.csv").iloc[0]
    assert (row["readers"], row["finished"], row["years_min"], row["years_median"], row["years_max"]) == (
        6,
        5,
        7,
        14.5,
        22,
    )
    assert (row["level_resident"], row["level_junior"], row["level_senior"], row["level_faculty"]) == (2, 1, 2, 1)
    assert row["minutes_mean"] == pytest.approx(37.5) and row["minutes_sd"] == pytest.approx(15.625**0.5)
