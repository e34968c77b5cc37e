"""Exports that cannot be mixed: each bad export is refused with a message naming the file and rows, or analysed with
a named note where the data remain analysable."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from studies.analysis.summary import analyze
from studies.analysis.tables import read_design
from studies.cli import main
from studies.errors import StudyError
from tests.analysis.conftest import make_discrimination, make_rankings, make_ratings, make_readers


@pytest.fixture(scope="module")
def rankings():
    return make_rankings(readers=3, sets=2)


def test_answers_of_two_studies_are_refused(rankings):
    other = rankings.assign(study="other-study")
    with pytest.raises(StudyError, match=r"the export holds answers of 2 studies: 'demo' .* --each-study"):
        analyze(pd.concat([rankings, other]))


def test_each_study_analyses_them_separately(tmp_path, capsys):
    answers = make_discrimination(readers=4)
    both = pd.concat([answers, answers.assign(study="second")])
    both.to_csv(tmp_path / "discrimination.csv", index=False)
    out = tmp_path / "out"
    assert main(["analyze", "--discrimination", str(tmp_path / "discrimination.csv"), "--out", str(out)]) == 2
    assert "--each-study" in capsys.readouterr().err
    args = ["analyze", "--discrimination", str(tmp_path / "discrimination.csv"), "--each-study", "--out", str(out)]
    assert main(args) == 0
    first = json.loads((out / "demo" / "summary.json").read_text())["discrimination"]
    second = json.loads((out / "second" / "summary.json").read_text())["discrimination"]
    assert first["n_answers"] == second["n_answers"] == len(answers) and first["auc"] == second["auc"]


@pytest.mark.parametrize("invisible", ["Jose\u0301", "Jos\u00e9\u200b", " Jos\u00e9 "])
def test_reader_ids_differing_invisibly_are_one_reader_and_the_merge_is_listed(rankings, invisible):
    readers = make_readers(3).assign(reader=["Jos\u00e9", "reader-02", "reader-03"])
    table = rankings.assign(reader=rankings["reader"].replace({"reader-01": invisible}))
    summary = analyze(table, readers=readers)
    assert summary["readers"]["count"] == 3
    (merge,) = summary["data_checks"]["reader_merges"]
    assert "merged as 'José'" in merge and "rankings.csv" in merge and "readers.csv" in merge


def test_answers_from_a_reader_readers_csv_lacks_are_refused(rankings):
    with pytest.raises(StudyError, match=r"rankings.csv, row \d+: reader\(s\) 'reader-03' gave 24 answer row"):
        analyze(rankings, readers=make_readers(2))


def test_a_duplicated_readers_csv_row_is_refused(rankings):
    readers = make_readers(3)
    with pytest.raises(StudyError, match=r"readers.csv, rows 2, 5: reader 'reader-01' is listed 2 times"):
        analyze(rankings, readers=pd.concat([readers, readers.iloc[[0]]], ignore_index=True))


def test_a_revoked_readers_answers_are_left_out_and_said_so(rankings):
    readers = make_readers(3)
    readers["status"] = ["finished", "finished", "revoked"]
    summary = analyze(rankings, readers=readers)
    assert all(result["n_blocks"] == 4 for result in summary["ranking"].values())  # 2 readers × 2 sets
    assert (
        "24 row(s) of rankings.csv from revoked reader(s) 'reader-03' were left out"
        in (summary["data_checks"]["notes"])
    )


def test_a_set_ranked_by_a_single_reader_is_flagged(rankings):
    alone = rankings[~((rankings["set"] == "airway-2") & (rankings["reader"] != "reader-01"))]
    notes = analyze(alone)["data_checks"]["notes"]
    assert "set 'airway-2' of 'airway' was ranked by a single reader: no agreement (W) is measured on it" in notes


def test_a_design_with_a_volume_in_two_sets_is_refused(tmp_path, rankings):
    design = rankings[["structure", "set", "volume", "source"]].drop_duplicates().assign(task="ranking", truth="")
    design.loc[design.index[4], "volume"] = design["volume"].iloc[0]  # airway-2's real scan is airway-1's
    design.to_csv(tmp_path / "design.csv", index=False)
    with pytest.raises(StudyError, match=r"design.csv, rows 2, 6: volume '.*' is in sets .*; a scan belongs to one"):
        read_design(tmp_path / "design.csv")


def test_a_rating_scale_recorded_both_ways_is_refused_and_a_reversed_one_turned_round():
    ratings = make_ratings(readers=3)
    ratings["higher_is_more_realistic"] = "true"
    ratings.loc[5, "higher_is_more_realistic"] = "false"
    with pytest.raises(StudyError, match=r"ratings.csv, row 7: higher_is_more_realistic is false but true at row 2"):
        analyze(None, ratings=ratings)
    reversed_scale = make_ratings(readers=3).assign(higher_is_more_realistic="false")
    forward = analyze(None, ratings=make_ratings(readers=3))["rating"]["by_source"]
    turned = analyze(None, ratings=reversed_scale)
    for source, result in turned["rating"]["by_source"].items():
        assert result["mean"] == pytest.approx(int(reversed_scale["scale"].iloc[0]) + 1 - forward[source]["mean"])
    assert "scores were reversed" in turned["data_checks"]["notes"][0]
