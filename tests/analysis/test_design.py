"""The design travels with the answers: analyze refuses, naming file and row, what does not fit the study."""

import json

import pandas as pd
import pytest

from studies.analysis.design import design_from_study, validate_design
from studies.analysis.summary import analyze
from studies.analysis.tables import read_design, read_rankings, validate_pathology, validate_rankings
from studies.errors import StudyError
from tests.analysis.conftest import SOURCES, STRUCTURES, make_pathology, make_rankings, make_readers


def make_design(sets: int = 4) -> pd.DataFrame:
    """design.csv of the conftest study: recognition volumes, then every ranking set's four volumes."""
    recognition = make_pathology(1)[["volume", "source", "truth"]].assign(task="recognition", structure="", set="")
    ranking = make_rankings(1, sets)[["structure", "set", "volume", "source"]].assign(task="ranking", truth="")
    return pd.concat([recognition, ranking], ignore_index=True)[
        ["task", "structure", "set", "volume", "source", "truth"]
    ]


@pytest.fixture
def design():
    return validate_design(make_design(), "design.csv")


def _refused(match, rankings=None, pathology=None, readers=None, design=None):
    with pytest.raises(StudyError, match=match):
        analyze(rankings, pathology, readers, design=design)


def test_answers_that_fit_the_design_are_analysed(design):
    summary = analyze(make_rankings(), make_pathology(), design=design)
    assert list(summary["ranking"]) == STRUCTURES


def test_a_source_not_in_the_design_is_refused_naming_the_row(design):
    rankings = make_rankings()
    rankings.loc[5, "source"] = "stylegan"
    _refused(
        r"rankings.csv, row 7: source 'stylegan' is not a source of the design \(design.csv has:",
        rankings,
        design=design,
    )


def test_a_set_whose_sources_differ_from_the_design_is_refused():
    """The design gives vessels a fifth source; an airway set that names it does not fit its own set."""
    rows = make_design()
    vessels = rows[rows["structure"] == "vessels"].drop_duplicates("set")
    rows = pd.concat([rows, vessels.assign(source="stylegan", volume=vessels["set"] + "-stylegan")], ignore_index=True)
    rankings = make_rankings()
    row = rankings.index[(rankings["set"] == "airway-2") & (rankings["source"] == "medsyn")][0]
    rankings.loc[row, ["source", "volume"]] = ["stylegan", ""]
    with pytest.raises(
        StudyError,
        match=rf"rankings.csv, row {row + 2}: set 'airway-2' holds real, medsyn, ha-gan, medical-diffusion in the "
        r"design \(design.csv rows \d+–\d+\), not 'stylegan'",
    ):
        validate_rankings(rankings, "rankings.csv", validate_design(rows, "design.csv"))


def test_a_design_whose_sets_of_one_structure_hold_different_sources_is_refused():
    rows = make_design()
    rows.loc[(rows["set"] == "airway-2") & (rows["source"] == "medsyn"), "source"] = "stylegan"
    with pytest.raises(StudyError, match=r"design.csv: structure 'airway': set 'airway-2' has sources"):
        validate_design(rows, "design.csv")


def test_a_blank_source_is_refused_in_rankings_and_pathology():
    rankings = make_rankings()
    rankings.loc[3, "source"] = " "
    with pytest.raises(StudyError, match=r"rankings.csv, row 5: empty source"):
        validate_rankings(rankings)
    pathology = make_pathology()
    pathology.loc[2, "source"] = ""
    with pytest.raises(StudyError, match=r"pathology.csv, row 4: empty source"):
        validate_pathology(pathology)


def test_reader_ids_that_match_readers_csv_only_up_to_case_are_refused():
    rankings = make_rankings()
    rankings.loc[rankings["reader"] == "reader-02", "reader"] = "Reader-02"
    first = int(rankings.index[rankings["reader"] == "Reader-02"][0]) + 2
    _refused(
        rf"rankings.csv, row {first}: reader 'Reader-02' is 'reader-02' in readers.csv",
        rankings,
        readers=make_readers(),
    )


@pytest.mark.parametrize(
    ("value", "problem"), [("-3", "is negative"), ("soon", "is not a number"), ("inf", "is not a number")]
)
def test_a_negative_or_non_numeric_seconds_is_refused(value, problem):
    rankings = make_rankings()
    rankings.loc[10, "seconds"] = value
    with pytest.raises(StudyError, match=rf"rankings.csv, row 12: seconds '{value}' {problem}"):
        validate_rankings(rankings)
    pathology = make_pathology()
    pathology.loc[0, "seconds"] = value
    with pytest.raises(StudyError, match=rf"pathology.csv, row 2: seconds '{value}' {problem}"):
        validate_pathology(pathology)


def test_without_a_design_a_fifth_source_in_one_set_is_refused_naming_the_set_and_rows():
    rankings = make_rankings()
    extra = rankings.iloc[[0]].assign(source="stylegan", rank="5", volume="stylegan-lob-1")
    rankings = pd.concat([rankings, extra], ignore_index=True)
    with pytest.raises(
        StudyError,
        match=r"rankings.csv, row\(s\) 290: set\(s\) lobes-and-fissures-1 of structure 'lobes and fissures' name "
        r"source 'stylegan', which set\(s\) lobes-and-fissures-2, lobes-and-fissures-3, lobes-and-fissures-4 do not",
    ):
        validate_rankings(rankings)


def test_a_source_spelled_in_another_case_is_refused_naming_its_row():
    rankings = make_rankings()
    rankings.loc[41, "source"] = rankings.loc[41, "source"].replace("medsyn", "MedSyn")
    rankings.loc[41, "source"] = "MedSyn"
    with pytest.raises(StudyError, match=r"rankings.csv, row 43: source 'MedSyn' differs only in case from"):
        validate_rankings(rankings)


def test_without_a_design_a_set_that_lacks_a_source_the_others_rank_is_refused():
    rankings = make_rankings()
    rankings = rankings[~((rankings["set"] == "airway-3") & (rankings["source"] == "real"))]
    with pytest.raises(StudyError, match=r"set\(s\) airway-3 of structure 'airway' lack source 'real'"):
        validate_rankings(rankings)


def test_a_ranking_that_names_fewer_sources_is_listed_as_incomplete_not_refused():
    rankings = make_rankings()
    rankings = rankings.drop(rankings.index[(rankings["reader"] == "reader-01") & (rankings["set"] == "airway-1")][:1])
    airway = analyze(rankings)["ranking"]["airway"]
    assert airway["n_incomplete"] == 1 and airway["n_blocks"] == 23


def test_a_recognition_volume_the_design_does_not_have_is_refused(design):
    pathology = make_pathology()
    pathology.loc[4, "volume"] = "medsyn-99"
    _refused(
        r"pathology.csv, row 6: volume 'medsyn-99' is not a recognition volume of the design",
        pathology=pathology,
        design=design,
    )


def test_the_design_file_reads_back_and_refuses_a_set_with_two_structures(tmp_path):
    rows = make_design()
    rows.to_csv(tmp_path / "design.csv", index=False)
    assert read_design(tmp_path / "design.csv").sources() == {structure: SOURCES for structure in STRUCTURES}
    rows.loc[rows["set"] == "airway-1", "structure"] = ["airway"] * 3 + ["vessels"]
    rows.to_csv(tmp_path / "design.csv", index=False)
    with pytest.raises(StudyError, match=r"design.csv, row \d+: set 'airway-1' is given two structures"):
        read_design(tmp_path / "design.csv")


def test_rankings_read_with_the_design_refuse_a_volume_of_another_source(tmp_path, design):
    rankings = make_rankings()
    rankings.loc[0, "volume"] = rankings.loc[1, "volume"]
    rankings.to_csv(tmp_path / "rankings.csv", index=False)
    with pytest.raises(StudyError, match=rf"{tmp_path / 'rankings.csv'}, row 2: volume .* is of source"):
        read_rankings(tmp_path / "rankings.csv", design)


NAMES = [f"{i:024x}" for i in range(1, 6)]
TASK = {"question": "Is it real?", "window": "lung"}
"""What a one-scan task of study.json needs besides its volumes."""


def make_study(**tasks) -> dict:
    """A study.json of five volumes (v0 real with a finding, then medsyn and real by turns): one recognition volume,
    one airway structure of two sets, and the given extra task keys."""
    names = NAMES
    volumes = [
        {
            "name": n,
            "file": f"volumes/{n}.nii.gz",
            "id": f"v{i}",
            "source": s,
            "finding": f,
            "original_file": "x.nii",
            "sha256": "0" * 64,
        }
        for i, (n, s, f) in enumerate(
            zip(names, ["real", "medsyn", "real", "medsyn", "real"], ["Cardiomegaly", None, None, None, None])
        )
    ]
    study = {
        "format": "medsyn-study/1",
        "title": "t",
        "slug": "t",
        "instructions": "",
        "closing_message": "",
        "seed": 1,
        "grid": {"shape": [8, 8, 8], "spacing": 1.0},
        "video": None,
        "volumes": volumes,
        "recognition": {"options": ["Cardiomegaly", "None"], "volumes": [names[0]]},
        "ranking": [
            {
                "structure": "airway",
                "window": "lung",
                "sets": [{"set": "airway-1", "volumes": names[1:3]}, {"set": "airway-2", "volumes": names[3:5]}],
            }
        ],
        **tasks,
    }
    return study


def test_the_design_of_a_study_json_lists_recognition_and_ranking_volumes(tmp_path):
    study = make_study()
    (tmp_path / "study.json").write_text(json.dumps(study))
    design = design_from_study(tmp_path / "study.json")
    assert design.rows[["task", "set", "volume", "source", "truth"]].values.tolist() == [
        ["recognition", "", "v0", "real", "Cardiomegaly"],
        ["ranking", "airway-1", "v1", "medsyn", ""],
        ["ranking", "airway-1", "v2", "real", ""],
        ["ranking", "airway-2", "v3", "medsyn", ""],
        ["ranking", "airway-2", "v4", "real", ""],
    ]


def test_the_design_of_a_study_json_lists_rating_and_discrimination_volumes_with_their_truth(tmp_path):
    study = make_study(
        rating={**TASK, "volumes": NAMES[:3], "scale": 5, "labels": list("abcde"), "position": "shuffled"},
        discrimination={**TASK, "volumes": NAMES[1:3], "real_sources": ["real"], "position": "last"},
    )
    (tmp_path / "study.json").write_text(json.dumps(study))
    rows = design_from_study(tmp_path / "study.json").rows
    assert rows.loc[
        rows["task"].isin(["rating", "discrimination"]), ["task", "volume", "source", "truth"]
    ].values.tolist() == [
        ["rating", "v0", "real", ""],
        ["rating", "v1", "medsyn", ""],
        ["rating", "v2", "real", ""],
        ["discrimination", "v1", "medsyn", "synthetic"],
        ["discrimination", "v2", "real", "real"],
    ]


def test_a_study_json_without_ranking_or_with_null_tasks_gives_a_design(tmp_path):
    study = make_study(
        rating=None, discrimination={**TASK, "volumes": NAMES[:2], "real_sources": ["real"], "position": "last"}
    )
    study["ranking"] = []
    (tmp_path / "study.json").write_text(json.dumps(study))
    rows = design_from_study(tmp_path / "study.json").rows
    assert rows["task"].tolist() == ["recognition", "discrimination", "discrimination"]


def test_a_discrimination_volume_of_the_design_must_be_real_or_synthetic():
    table = pd.DataFrame(
        [{"task": "discrimination", "structure": "", "set": "", "volume": "v1", "source": "medsyn", "truth": "fake"}]
    )
    with pytest.raises(StudyError, match=r"design.csv, row 2: truth 'fake' of a discrimination volume is not one of"):
        validate_design(table, "design.csv")


def test_a_volume_listed_twice_in_the_rating_task_is_refused():
    row = {"task": "rating", "structure": "", "set": "", "volume": "v1", "source": "medsyn", "truth": ""}
    with pytest.raises(StudyError, match=r"design.csv, row 3: volume 'v1' is listed twice in the rating task"):
        validate_design(pd.DataFrame([row, row]), "design.csv")
