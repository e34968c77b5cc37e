"""Per-reader plans: the paper's section V-F design, reproducible from the study seed and position-balanced."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studies.plans import balanced_order, reader_plan

ROOT = Path(__file__).resolve().parents[2]


def make_study(seed: int = 2024) -> dict:
    """A study.json-shaped dict like the paper's: 6 recognition scans, 3 structures of 4 sets of 4 scans."""
    ranking = []
    for structure in ("lobes and fissures", "vessels", "airways"):
        slug = structure.replace(" ", "-")
        sets = [{"set": f"{slug}-{s}", "volumes": [f"{slug}-{s}-scan{v}" for v in range(4)]} for s in range(1, 5)]
        ranking.append({"structure": structure, "window": "lung", "sets": sets})
    return {
        "seed": seed,
        "recognition": {"options": ["A", "B"], "volumes": [f"rec{i}" for i in range(6)]},
        "ranking": ranking,
    }


def test_it_puts_all_recognition_items_first_then_every_ranking_set_once():
    study = make_study()
    plan = reader_plan(study, 0)
    kinds = [item["kind"] for item in plan]
    assert kinds == ["recognition"] * 6 + ["ranking"] * 12
    assert sorted(item["volume"] for item in plan[:6]) == sorted(study["recognition"]["volumes"])
    expected_sets = {s["set"]: sorted(s["volumes"]) for entry in study["ranking"] for s in entry["sets"]}
    assert {item["set"]: sorted(item["volumes"]) for item in plan[6:]} == expected_sets


def test_it_keeps_each_structures_sets_together():
    plan = reader_plan(make_study(), 5)
    structures = [item["structure"] for item in plan if item["kind"] == "ranking"]
    runs = [s for i, s in enumerate(structures) if i == 0 or structures[i - 1] != s]
    assert sorted(runs) == sorted(set(structures))


def test_it_gives_the_same_reader_the_same_plan_every_time():
    assert reader_plan(make_study(), 3) == reader_plan(make_study(), 3)


def test_it_gives_different_readers_different_plans():
    plans = [reader_plan(make_study(), reader) for reader in range(40)]
    assert len({repr(plan) for plan in plans}) == 40


def test_it_gives_a_different_plan_for_a_different_seed():
    assert reader_plan(make_study(seed=1), 0) != reader_plan(make_study(seed=2), 0)


def test_it_does_not_depend_on_pythons_hash_seed(tmp_path):
    study_file = tmp_path / "study.json"
    study_file.write_text(json.dumps(make_study()))
    code = (
        "import json; from studies.plans import reader_plan; "
        f"print(json.dumps(reader_plan(json.load(open({str(study_file)!r})), 7)))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        outputs.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
    assert len(outputs) == 1 and "recognition" in outputs.pop()


def test_it_uses_every_scan_position_within_a_set_equally_over_many_readers():
    study = make_study()
    positions = collections.Counter()
    for reader in range(40):
        for item in reader_plan(study, reader):
            if item["kind"] == "ranking":
                positions.update((volume, place) for place, volume in enumerate(item["volumes"]))
    scans = [v for entry in study["ranking"] for s in entry["sets"] for v in s["volumes"]]
    assert all(positions[(scan, place)] == 10 for scan in scans for place in range(4))


def test_it_uses_every_recognition_position_equally_over_many_readers():
    positions = collections.Counter()
    for reader in range(60):
        recognition = [item["volume"] for item in reader_plan(make_study(), reader) if item["kind"] == "recognition"]
        positions.update(enumerate(recognition))
    assert set(positions.values()) == {10} and len(positions) == 36


def test_it_balances_structure_and_set_order_over_many_readers():
    structure_first = collections.Counter()
    set_positions = collections.Counter()
    for reader in range(24):
        ranking = [item for item in reader_plan(make_study(), reader) if item["kind"] == "ranking"]
        structure_first[ranking[0]["structure"]] += 1
        for structure in ("lobes and fissures", "vessels", "airways"):
            sets = [item["set"] for item in ranking if item["structure"] == structure]
            set_positions.update(enumerate(sets))
    assert set(structure_first.values()) == {8}
    assert set(set_positions.values()) == {6}


def test_each_readers_scan_order_is_a_fair_shuffle_across_blocks():
    """Across blocks of readers the base permutation is redrawn, so all 24 orders of 4 scans turn up."""
    orders = {tuple(balanced_order("abcd", 7, "scans", reader)) for reader in range(400)}
    assert len(orders) == 24


def test_it_handles_a_study_without_recognition_or_ranking():
    assert reader_plan({"seed": 1, "recognition": None, "ranking": []}, 0) == []


def test_it_rejects_a_negative_reader_index():
    with pytest.raises(ValueError, match="reader_index"):
        reader_plan(make_study(), -1)
