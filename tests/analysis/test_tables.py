"""Reading the export CSVs: bad input gets an error naming the file, the row and the problem."""

import pytest

from studies.analysis.tables import read_pathology, read_rankings, read_readers, validate_readers
from studies.errors import StudyError
from tests.analysis.conftest import make_readers


def write(tmp_path, table, name="rankings.csv"):
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


def test_it_reads_a_valid_export_with_integer_ranks_and_line_numbers(tmp_path, rankings):
    table = read_rankings(write(tmp_path, rankings))
    assert table["rank"].dtype.kind == "i"
    assert table["row"].iloc[0] == 2


def test_it_rejects_a_rank_outside_one_to_k(tmp_path, rankings):
    rankings.loc[5, "rank"] = "5"
    with pytest.raises(StudyError, match=r"rankings\.csv, row 7: rank 5 is outside 1\.\.4"):
        read_rankings(write(tmp_path, rankings))


def test_it_rejects_a_repeated_rank_within_one_ranking(tmp_path, rankings):
    rankings.loc[1, "rank"] = rankings.loc[0, "rank"]
    with pytest.raises(StudyError, match=r"row 3: rank .* is repeated in reader-01's ranking .* \(first at row 2\)"):
        read_rankings(write(tmp_path, rankings))


def test_it_rejects_a_source_ranked_twice_in_one_set(tmp_path, rankings):
    rankings.loc[1, "source"] = rankings.loc[0, "source"]
    with pytest.raises(StudyError, match=r"row 3: source 'real' is repeated"):
        read_rankings(write(tmp_path, rankings))


def test_it_rejects_a_rank_that_is_not_a_whole_number(tmp_path, rankings):
    rankings.loc[0, "rank"] = "first"
    with pytest.raises(StudyError, match=r"row 2: rank 'first' is not a whole number"):
        read_rankings(write(tmp_path, rankings))


def test_it_rejects_a_missing_column(tmp_path, rankings):
    with pytest.raises(StudyError, match=r"rankings\.csv: missing column\(s\) rank"):
        read_rankings(write(tmp_path, rankings.drop(columns="rank")))


def test_it_rejects_an_empty_file(tmp_path):
    path = tmp_path / "rankings.csv"
    path.write_text("")
    with pytest.raises(StudyError, match=r"rankings\.csv: the file is empty"):
        read_rankings(path)


def test_it_rejects_a_header_without_rows(tmp_path, rankings):
    with pytest.raises(StudyError, match="header but no rows"):
        read_rankings(write(tmp_path, rankings.head(0)))


def test_it_rejects_a_structure_with_a_single_source(tmp_path, rankings):
    single = rankings[(rankings["structure"] != "airway") | (rankings["source"] == "real")]
    with pytest.raises(StudyError, match=r"structure 'airway' has a single source \(real\)"):
        read_rankings(write(tmp_path, single))


def test_it_names_a_file_that_does_not_exist(tmp_path):
    with pytest.raises(StudyError, match="no such file"):
        read_rankings(tmp_path / "missing.csv")


def test_it_marks_recognition_answers_correct_case_insensitively(tmp_path):
    path = tmp_path / "pathology.csv"
    path.write_text(
        "study,reader,volume,source,truth,answer,correct,note,seconds\n"
        "s,r1,v1,medsyn,Pleural effusion,pleural EFFUSION,False,,3\n"
        's,r1,v2,real,Cardiomegaly,Consolidation,True,"heart, large",4\n'
    )
    table = read_pathology(path)
    assert table["correct"].tolist() == [True, False]
    assert table["note"].tolist() == ["", "heart, large"]


def test_it_rejects_a_recognition_answered_twice(tmp_path):
    path = tmp_path / "pathology.csv"
    path.write_text(
        "reader,volume,source,truth,answer\nr1,v1,real,Cardiomegaly,Cardiomegaly\n"
        "r1,v1,real,Cardiomegaly,Consolidation\n"
    )
    with pytest.raises(StudyError, match="row 3: r1 answered volume 'v1' twice"):
        read_pathology(path)


def test_it_rejects_an_unknown_reader_level(tmp_path):
    readers = make_readers()
    readers.loc[2, "level"] = "professor"
    with pytest.raises(StudyError, match=r"readers\.csv, row 4: level 'professor' is not one of"):
        read_readers(write(tmp_path, readers, "readers.csv"))


def test_it_rejects_minutes_that_are_not_a_number(tmp_path):
    readers = make_readers()
    readers.loc[0, "minutes"] = "half an hour"
    with pytest.raises(StudyError, match="row 2: minutes 'half an hour' is not a number"):
        read_readers(write(tmp_path, readers, "readers.csv"))


def test_tables_from_a_database_query_may_hold_none_and_numbers():
    """The staff results page passes DataFrames built from the database: None for blanks, integers for ranks."""
    readers = make_readers().assign(years_experience=[None, 5, 6, 7, 8, 9], finished=[None] * 6)
    table = validate_readers(readers)
    assert table["years_experience"].isna().tolist() == [True] + [False] * 5
    assert (table["finished"] == "").all()
