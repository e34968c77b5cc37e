"""Exports: rankings.csv, pathology.csv and readers.csv with exactly the contract's columns, one row per answer."""

import csv
import io

import pytest
from django.core.management import call_command

from studies.analysis.readers import readers_summary
from studies.analysis.tables import read_pathology, read_readers
from surveys.invitations import revoke
from tests.platform.conftest import answer_everything, invite, post_answer, start, task_payload


def _read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def finished(client, alice, bob):
    start(client, alice, years_experience="9", level="faculty")
    answer_everything(client, alice)
    client.post(alice.path("finish"))
    start(client, bob)
    post_answer(client, bob, **task_payload(bob, 0), option="Pleural effusion", note="left-sided", seconds=4.0)
    return alice, bob


def test_the_command_writes_the_four_files_with_the_contract_columns(finished, study, tmp_path):
    out = io.StringIO()
    call_command("export_responses", study.slug, "--out", str(tmp_path / "export"), stdout=out)
    assert "rankings.csv: 8 rows" in out.getvalue()
    headers = {
        name: (tmp_path / "export" / f"{name}.csv").read_text().splitlines()[0]
        for name in ("rankings", "pathology", "readers", "design")
    }
    assert headers == {
        "rankings": "study,reader,structure,set,volume,source,rank,seconds",
        "pathology": "study,reader,volume,source,truth,answer,correct,note,seconds",
        "readers": "reader,years_experience,level,started,finished,minutes,status",
        "design": "task,structure,set,volume,source,truth",
    }


def test_rankings_have_one_row_per_ranked_scan_with_the_key(finished, study, tmp_path):
    call_command("export_responses", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    rows = _read(tmp_path / "rankings.csv")
    assert len(rows) == 8 and {r["reader"] for r in rows} == {"alice"}
    lobes = [r for r in rows if r["set"] == "lobes-and-fissures-1"]
    assert sorted(int(r["rank"]) for r in lobes) == [1, 2, 3, 4]
    assert {r["volume"] for r in lobes} == {"real-1", "medsyn-1", "ha-gan-1", "medical-diffusion-1"}
    assert {(r["volume"].rsplit("-", 1)[0], r["source"]) for r in rows} == {
        (s, s) for s in ("real", "medsyn", "ha-gan", "medical-diffusion")
    }
    assert all(float(r["seconds"]) == 3.0 and r["structure"] in {"lobes and fissures", "vessels"} for r in rows)


def test_pathology_rows_compare_the_answer_with_the_truth(finished, study, tmp_path):
    call_command("export_responses", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    rows = {(r["reader"], r["volume"]): r for r in _read(tmp_path / "pathology.csv")}
    assert len(rows) == 3
    bob_row = next(r for (reader, _), r in rows.items() if reader == "bob")
    expected = "True" if bob_row["truth"].lower() == "pleural effusion" else "False"
    assert (bob_row["answer"], bob_row["note"], bob_row["correct"], bob_row["seconds"]) == (
        "Pleural effusion",
        "left-sided",
        expected,
        "4.0",
    )
    assert rows[("alice", "real-1")]["truth"] == "Pleural effusion"
    assert rows[("alice", "real-1")]["correct"] == "False"  # alice chose the first option, Consolidation


def test_readers_rows_give_demographics_times_and_minutes(finished, study, tmp_path):
    call_command("export_responses", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    alice, bob = _read(tmp_path / "readers.csv")
    assert (alice["reader"], alice["years_experience"], alice["level"]) == ("alice", "9", "faculty")
    assert alice["started"].endswith("Z") and alice["finished"].endswith("Z") and float(alice["minutes"]) == 0.2
    assert (bob["years_experience"], bob["level"], bob["finished"]) == ("", "", "")


def test_staff_download_the_same_csv_and_readers_cannot(client, finished, study, coordinator):
    path = f"/staff/studies/{study.slug}/exports/rankings.csv"
    assert client.get(path).status_code == 302  # to the admin login
    client.force_login(coordinator)
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines()[0] == "study,reader,structure,set,volume,source,rank,seconds"
    assert client.get(f"/staff/studies/{study.slug}/exports/").status_code == 200


def test_the_design_lists_every_volume_of_each_task_with_its_source_and_truth(study, tmp_path):
    call_command("export_responses", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    rows = _read(tmp_path / "design.csv")
    recognition = {(r["volume"], r["source"], r["truth"]) for r in rows if r["task"] == "recognition"}
    assert recognition == {("real-1", "real", "Pleural effusion"), ("medsyn-1", "medsyn", "Cardiomegaly")}
    ranking = [r for r in rows if r["task"] == "ranking"]
    assert len(ranking) == 8 and {r["structure"] for r in ranking} == {"lobes and fissures", "vessels"}
    assert {r["volume"] for r in ranking if r["structure"] == "vessels"} == {
        f"{source}-2" for source in ("real", "medsyn", "ha-gan", "medical-diffusion")
    }


def test_a_note_written_as_a_formula_is_neutralised_and_read_back_as_written(client, study, bob, tmp_path):
    start(client, bob)
    formula = '=HYPERLINK("http://evil.example","x")'
    post_answer(client, bob, **task_payload(bob, 0), option="Pleural effusion", note=formula, seconds=4.0)
    call_command("export_responses", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    assert _read(tmp_path / "pathology.csv")[0]["note"] == "'" + formula
    assert read_pathology(tmp_path / "pathology.csv")["note"].tolist() == [formula]


def test_readers_carry_their_status_and_the_analysis_counts_only_those_who_started(client, study, finished, tmp_path):
    invite(study, "never")
    gone = invite(study, "gone")
    start(client, gone)
    revoke(gone.reader)
    call_command("export_responses", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    assert {r["reader"]: r["status"] for r in _read(tmp_path / "readers.csv")} == {
        "alice": "finished",
        "bob": "started",
        "never": "not started",
        "gone": "revoked",
    }
    summary = readers_summary(read_readers(tmp_path / "readers.csv"))
    assert (summary["count"], summary["finished"], summary["invited"]) == (2, 1, 4)
    assert (summary["not_started"], summary["revoked"]) == (["never"], ["gone"])


def test_staff_download_the_design(client, study, coordinator):
    client.force_login(coordinator)
    response = client.get(f"/staff/studies/{study.slug}/exports/design.csv")
    assert response.status_code == 200
    assert response.content.decode().splitlines()[0] == "task,structure,set,volume,source,truth"
