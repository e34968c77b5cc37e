"""Rating and real-or-synthetic tasks from the manifest to study.json and the readers' plans."""

from __future__ import annotations

import collections
import json

import pytest

from studies.build import build_bundle
from studies.bundle import load_study
from studies.errors import StudyError
from studies.manifest import read_manifest
from studies.plans import reader_plan
from tests.studies.test_reader_plans import make_study
from tests.studies.test_study_manifest import edit, problem

RATING = '\n[rating]\nvolumes = ["real-07", "gen-eff-1", "hagan-02"]\n'
DISCRIMINATION = '\n[discrimination]\nvolumes = ["real-07", "gen-eff-1", "md-02"]\n'


def with_tables(manifest, *tables: str):
    manifest.write_text(manifest.read_text() + "".join(tables))
    return manifest


def test_a_rating_table_has_five_points_labelled_at_both_ends_and_is_shuffled_by_default(manifest):
    rating = read_manifest(with_tables(manifest, RATING)).rating
    assert rating.volumes == ("real-07", "gen-eff-1", "hagan-02") and rating.scale == 5
    assert rating.labels[0] and rating.labels[-1] and rating.labels[1:-1] == ("", "", "")
    assert rating.position == "shuffled" and rating.window == "lung" and rating.question


def test_a_scale_whose_top_means_least_realistic_is_recorded_and_its_default_labels_turn_round(manifest):
    forward = read_manifest(with_tables(manifest, RATING)).rating
    manifest.write_text(manifest.read_text() + "higher_is_more_realistic = false\n")
    backward = read_manifest(manifest).rating
    assert forward.higher_is_more_realistic and not backward.higher_is_more_realistic
    assert backward.labels == forward.labels[::-1]
    bundle = build_bundle(manifest, manifest.parent / "bundle", workers=1, progress=False)
    assert load_study(bundle)["rating"]["higher_is_more_realistic"] is False


def test_a_discrimination_table_counts_source_real_as_real_and_comes_last_by_default(manifest):
    task = read_manifest(with_tables(manifest, DISCRIMINATION)).discrimination
    assert task.real_sources == ("real",) and task.position == "last" and task.question


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (RATING + "scale = 11\n", "[rating]: 'scale' must be from 2 to 10 points, not 11"),
        (RATING + "scale = 1\n", "[rating]: 'scale' must be from 2 to 10 points, not 1"),
        (RATING + 'labels = ["bad", "good"]\n', "'labels' has 2 entries but the scale has 5 points"),
        (RATING + 'position = "middle"\n', "[rating]: 'position' must be one of 'shuffled', 'first', 'last'"),
        (RATING + 'window = "brain"\n', "[rating]: 'window' must be one of"),
        (RATING + "colour = 1\n", "[rating]"),
        (RATING + 'higher_is_more_realistic = "yes"\n', "'higher_is_more_realistic' must be true or false, not 'yes'"),
        ('\n[rating]\nvolumes = ["nope"]\n', "unknown volume id 'nope' in 'volumes'"),
        ('\n[[rating]]\nvolumes = ["real-07"]\n', "[rating]: must be a table"),
        (DISCRIMINATION + 'position = "first"\n', "[discrimination]: 'position' must be one of 'last', 'shuffled'"),
        (DISCRIMINATION + 'real_sources = ["scanner"]\n', "'real_sources' names 'scanner', which no [[volume]] has"),
        ('\n[discrimination]\nvolumes = ["gen-eff-1", "md-02"]\n', "no volume of source 'real' is listed"),
        (
            '\n[discrimination]\nvolumes = ["gen-eff-1"]\nreal_sources = ["medsyn"]\n',
            "[discrimination]: 'volumes' must hold both real scans",
        ),
        (
            '\n[discrimination]\nvolumes = ["real-07"]\n',
            "[discrimination]: 'volumes' must hold both real scans",
        ),
    ],
)
def test_every_mistake_in_the_new_tables_is_named(manifest, table, expected):
    assert expected in problem(with_tables(manifest, table))


def test_real_sources_may_name_several_sources_when_none_is_called_real(manifest):
    edit(manifest, 'source = "real"', 'source = "hospital"')
    table = '\n[discrimination]\nvolumes = ["real-07", "md-02"]\nreal_sources = ["hospital"]\n'
    assert read_manifest(with_tables(manifest, table)).discrimination.real_sources == ("hospital",)


def test_the_bundle_carries_both_tasks_in_opaque_names_and_loads_back(manifest):
    with_tables(manifest, RATING + 'scale = 3\nlabels = ["poor", "", "real-looking"]\n', DISCRIMINATION)
    bundle = build_bundle(manifest, manifest.parent / "bundle", workers=1, progress=False)
    study = load_study(bundle)
    names = {volume["id"]: volume["name"] for volume in study["volumes"]}
    assert study["rating"]["volumes"] == [names["real-07"], names["gen-eff-1"], names["hagan-02"]]
    assert study["rating"]["labels"] == ["poor", "", "real-looking"] and study["rating"]["scale"] == 3
    assert study["discrimination"]["real_sources"] == ["real"]
    assert study["discrimination"]["volumes"] == [names["real-07"], names["gen-eff-1"], names["md-02"]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["rating"].update(scale=12), "rating.scale: must be a whole number from 2 to 10"),
        (lambda s: s["rating"].update(labels=["a"]), "rating.labels: must list one text per point"),
        (lambda s: s["rating"].update(position="sideways"), "rating.position: must be one of"),
        (lambda s: s["rating"].update(higher_is_more_realistic="no"), "rating.higher_is_more_realistic: must be true"),
        (lambda s: s["discrimination"].update(real_sources=[]), "discrimination.real_sources: must list"),
        (
            lambda s: s["discrimination"].update(real_sources=["ha-gan"]),
            "discrimination.volumes: must hold both real and synthetic",
        ),
        (lambda s: s["discrimination"]["volumes"].append("v-unknown"), "'v-unknown' is not a volume of this study"),
    ],
)
def test_a_bundle_with_broken_task_definitions_is_refused_by_name(manifest, change, expected):
    with_tables(manifest, RATING, DISCRIMINATION)
    bundle = build_bundle(manifest, manifest.parent / "bundle", workers=1, progress=False)
    spec_path = bundle / "study.json"
    spec = json.loads(spec_path.read_text())
    change(spec)
    spec_path.write_text(json.dumps(spec))
    with pytest.raises(StudyError) as caught:
        load_study(bundle, verify_files=False)
    assert str(caught.value).startswith(f"{spec_path}: ") and expected in str(caught.value)


def study_with(rating_position: str = "shuffled", discrimination_position: str = "last") -> dict:
    study = make_study()
    study["rating"] = {"volumes": [f"rate{i}" for i in range(4)], "position": rating_position}
    study["discrimination"] = {"volumes": [f"vtt{i}" for i in range(5)], "position": discrimination_position}
    return study


def kinds(plan: list[dict]) -> list[str]:
    return [task["kind"] for task in plan]


def test_by_default_ratings_mix_with_recognition_and_discrimination_comes_after_everything():
    plans = [reader_plan(study_with(), reader) for reader in range(10)]
    for plan in plans:
        assert sorted(kinds(plan)[:10]) == ["rating"] * 4 + ["recognition"] * 6
        assert kinds(plan)[10:] == ["ranking"] * 12 + ["discrimination"] * 5
        assert sorted(task["volume"] for task in plan[-5:]) == [f"vtt{i}" for i in range(5)]
    assert len({tuple(kinds(plan)[:10]) for plan in plans}) > 1, "ratings and recognition are interleaved"


def test_rating_first_or_last_and_discrimination_shuffled_move_the_blocks():
    assert kinds(reader_plan(study_with("first"), 0))[:4] == ["rating"] * 4
    plan = kinds(reader_plan(study_with("last"), 3))
    assert plan[-9:] == ["rating"] * 4 + ["discrimination"] * 5
    plan = kinds(reader_plan(study_with("last", "shuffled"), 3))
    assert sorted(plan[:11]) == ["discrimination"] * 5 + ["recognition"] * 6 and plan[-4:] == ["rating"] * 4


def test_discrimination_positions_are_balanced_over_each_block_of_readers():
    positions = collections.defaultdict(collections.Counter)
    for reader in range(5 * 4):
        for place, task in enumerate(reader_plan(study_with(), reader)[-5:]):
            positions[task["volume"]][place] += 1
    assert all(sorted(counter.values()) == [4] * 5 for counter in positions.values())


def test_recognition_only_studies_keep_the_plans_they_had():
    study = make_study()
    with_empty = dict(study, rating=None, discrimination=None)
    assert all(reader_plan(study, r) == reader_plan(with_empty, r) for r in range(8))
