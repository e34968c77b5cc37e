"""Exported text never runs as a spreadsheet formula, and the analysis reads it back as written."""

import pandas as pd
import pytest

from studies.analysis.notes import notes
from studies.analysis.results import write_results
from studies.analysis.spreadsheet import neutralise, neutralise_frame, restore
from studies.analysis.summary import analyze
from studies.analysis.tables import read_table, validate_pathology
from tests.analysis.conftest import make_pathology

TEXTS = ['=HYPERLINK("http://evil.example","x")', "+1", "-2 cm nodule", "@SUM(A1)", "\tleft", "\rright", "'quoted"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_cell_starting_with_a_trigger_or_a_quote_is_prefixed_and_restored_exactly(text):
    assert neutralise(text) == "'" + text and restore(neutralise(text)) == text


@pytest.mark.parametrize("value", ["small effusion", "", "Consolidation", 3, -2.5, None, True])
def test_other_cells_and_numbers_are_left_alone(value):
    assert neutralise(value) == value and restore(neutralise(value)) == value


def test_a_neutralised_csv_reads_back_as_the_original_text(tmp_path):
    table = pd.DataFrame({"reader": ["r1", "r2"], "note": [TEXTS[0], "-3"], "seconds": [-1.5, 2.0]})
    neutralise_frame(table).to_csv(tmp_path / "t.csv", index=False)
    assert "'=HYPERLINK" in (tmp_path / "t.csv").read_text() and ",-1.5" in (tmp_path / "t.csv").read_text()
    read = read_table(tmp_path / "t.csv", ("reader", "note"))
    assert read["note"].tolist() == [TEXTS[0], "-3"] and read["seconds"].tolist() == ["-1.5", "2.0"]


def test_the_analysis_writes_notes_neutralised(tmp_path):
    pathology = make_pathology()
    pathology.loc[0, "note"] = TEXTS[0]
    checked = validate_pathology(pathology)
    write_results(analyze(None, checked), tmp_path, notes(checked))
    assert "'=HYPERLINK" in (tmp_path / "notes.csv").read_text()
    assert read_table(tmp_path / "notes.csv", ("note",))["note"].iloc[0] == TEXTS[0]
