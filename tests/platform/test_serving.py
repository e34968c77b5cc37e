"""Serving behind nginx, Django's side: X-Accel-Redirect instead of the bytes, a clear answer while the database is
down, the health probe, and the system check of the data folder."""

from __future__ import annotations

import json

import pytest
from django.core.checks import run_checks
from django.db import OperationalError

from tests.platform.conftest import invite, start, task_payload


@pytest.mark.parametrize(
    ("accept", "coding"), [("gzip, deflate, br, zstd", "zstd"), ("gzip", "gzip"), ("", "identity")]
)
def test_with_x_accel_on_django_hands_the_planned_scan_to_nginx(client, settings, study, accept, coding):
    settings.PLATFORM_X_ACCEL = True
    alice = invite(study, "alice")
    name = alice.reader.plan[0]["volume"]
    response = client.get(alice.path("volume", name), HTTP_ACCEPT_ENCODING=accept)
    suffix = {"zstd": ".nii.zst", "gzip": ".nii.gz", "identity": ".nii"}[coding]
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/_accel/{coding}/{study.slug}/volumes/{name}{suffix}"
    assert not {"Content-Type", "Cache-Control", "ETag", "Content-Encoding"} & set(response.headers)


def test_with_x_accel_on_a_scan_outside_the_plan_is_still_refused(client, settings, study):
    settings.PLATFORM_X_ACCEL = True
    alice = invite(study, "alice")
    planned = {name for task in alice.reader.plan for name in task.get("volumes", [task.get("volume")])}
    other = study.volumes.exclude(name__in=planned).first() or study.volumes.first()
    response = client.get(alice.path("volume", "0" * 24 if other.name in planned else other.name))
    assert response.status_code == 404 and "X-Accel-Redirect" not in response


def test_a_lost_database_gives_the_reader_a_clear_page(client, study, monkeypatch):
    alice = invite(study, "alice")
    monkeypatch.setattr("surveys.access.hash_token", _lost_connection)
    response = client.get(alice.path("welcome"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"Every answer it confirmed as saved is kept" in response.content


def test_a_lost_database_gives_an_autosave_a_reply_its_page_retries_on(client, study, monkeypatch):
    alice = invite(study, "alice")
    start(client, alice)
    monkeypatch.setattr("surveys.views.answers.record_answer", _lost_connection)
    payload = {**task_payload(alice, 0), "seconds": 1}
    response = client.post(alice.path("answer"), json.dumps(payload), content_type="application/json")
    assert response.status_code == 503 and response.json()["retry"] is True
    assert "cannot store answers" in response.json()["error"]


def test_the_health_probe_says_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert (response.status_code, response.content, response["Cache-Control"]) == (200, b"ok\n", "no-store")


def test_the_delivery_probe_says_when_x_accel_is_off(client, db):
    response = client.get("/healthz/delivery/zstd")
    assert response.status_code == 409 and b"PLATFORM_X_ACCEL is off" in response.content


def test_the_system_check_refuses_a_data_folder_it_cannot_create(settings, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    settings.PLATFORM_DATA_DIR = tmp_path / "a-file" / "data"
    assert "surveys.E001" in [message.id for message in run_checks()]
    settings.PLATFORM_DATA_DIR = tmp_path / "data"
    assert "surveys.E001" not in [message.id for message in run_checks()]


def _lost_connection(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")
