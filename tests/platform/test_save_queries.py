"""An autosave costs as few database queries as the audit trail allows: the token lookup, the reader's lock, one read
per kind of task in the plan, then the answer, its audit entry and the reader's last-seen time (the test study's plan
has two kinds, recognition and ranking). Under the test's own transaction, the save's shows as a savepoint pair."""

from __future__ import annotations

import json

import pytest

from tests.platform.conftest import invite, start, task_payload, valid_answer

SAVEPOINT_PAIR = 2
"""SAVEPOINT and RELEASE: the save's transaction inside the test's (in production: BEGIN and COMMIT)."""
KINDS_IN_PLAN = 2


def _post(client, invited, payload):
    return client.post(invited.path("answer"), json.dumps(payload), content_type="application/json")


def _position_of(invited, kind: str) -> int:
    return next(i for i, task in enumerate(invited.refresh().plan) if task["kind"] == kind)


@pytest.fixture
def alice_answering(client, study):
    """Alice, started, with every task before her first ranking answered (so that she may answer it)."""
    alice = invite(study, "alice")
    start(client, alice)
    for position, task in enumerate(alice.refresh().plan[: _position_of(alice, "ranking")]):
        assert _post(client, alice, {**task_payload(alice, position), **valid_answer(study, task)}).status_code == 200
    return alice


def test_changing_a_recognition_answer_takes_seven_queries(client, study, alice_answering, django_assert_num_queries):
    position = _position_of(alice_answering, "recognition")
    payload = {**task_payload(alice_answering, position), "option": study.options[1], "note": "changed", "seconds": 1}
    with django_assert_num_queries(1 + 1 + KINDS_IN_PLAN + 3 + SAVEPOINT_PAIR):
        assert _post(client, alice_answering, payload).json()["saved"] is True


def test_a_first_ranking_answer_takes_one_query_more_to_find_its_set(
    client, study, alice_answering, django_assert_num_queries
):
    position = _position_of(alice_answering, "ranking")
    task = alice_answering.refresh().plan[position]
    payload = {**task_payload(alice_answering, position), **valid_answer(study, task), "seconds": 1}
    with django_assert_num_queries(1 + 1 + KINDS_IN_PLAN + 1 + 3 + SAVEPOINT_PAIR):
        assert _post(client, alice_answering, payload).json()["saved"] is True
    payload["ranks"] = {name: len(task["volumes"]) - rank + 1 for name, rank in payload["ranks"].items()}
    with django_assert_num_queries(1 + 1 + KINDS_IN_PLAN + 3 + SAVEPOINT_PAIR):
        assert _post(client, alice_answering, payload).json()["saved"] is True


def test_a_time_report_without_a_change_writes_no_audit_entry(client, alice_answering, django_assert_num_queries):
    payload = {**task_payload(alice_answering, _position_of(alice_answering, "recognition")), "seconds": 1}
    with django_assert_num_queries(1 + 1 + KINDS_IN_PLAN + 2 + SAVEPOINT_PAIR):
        assert _post(client, alice_answering, payload).status_code == 200


def test_a_save_locks_its_reader_row_only_so_readers_never_wait_for_each_other(
    client, study, alice_answering, django_assert_num_queries
):
    from django.db import connection

    if not connection.features.has_select_for_update_of:
        pytest.skip(f"{connection.vendor} locks the whole database per write (PostgreSQL locks rows)")
    payload = {**task_payload(alice_answering, _position_of(alice_answering, "recognition")), "seconds": 1}
    with django_assert_num_queries(1 + 1 + KINDS_IN_PLAN + 2 + SAVEPOINT_PAIR) as captured:
        assert _post(client, alice_answering, payload).status_code == 200
    locks = [query["sql"] for query in captured.captured_queries if "FOR UPDATE" in query["sql"]]
    assert len(locks) == 1 and locks[0].endswith('FOR UPDATE OF "surveys_reader"'), locks
