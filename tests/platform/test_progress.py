"""The staff progress page: every reader's status, tasks done, minutes and times, with totals; staff only, no answers,
a fixed number of queries however many readers and answers."""

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys.invitations import revoke
from surveys.models import RankingAnswer, Reader, RecognitionAnswer, RecognitionItem, Volume
from tests.platform.conftest import SOURCES, finish, invite, post_answer, start, task_payload


def _progress(study) -> str:
    return reverse("surveys:progress", args=[study.slug])


def _rows(response) -> dict:
    return {row.label: row for row in response.context["progress"].readers}


def _seconds(reader: Reader) -> float:
    """The reader's time on tasks, summed by the database."""
    return sum(
        kind.objects.filter(reader=reader).aggregate(s=Sum("seconds"))["s"] or 0.0
        for kind in (RecognitionAnswer, RankingAnswer)
    )


def test_anonymous_visitors_are_sent_to_the_login(client, study):
    response = client.get(_progress(study))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_a_reader_link_gives_no_access(client, study, alice):
    start(client, alice)
    for path in (_progress(study), f"{_progress(study)}?token={alice.token}"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_a_logged_in_user_who_is_not_staff_gets_no_access(client, study, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory", password="mallory-password"))
    assert client.get(_progress(study)).status_code == 302


def test_an_unknown_study_is_not_found(client, coordinator, study):
    client.force_login(coordinator)
    assert client.get(reverse("surveys:progress", args=["no-such-study"])).status_code == 404


@pytest.fixture
def readers(client, study, alice, bob):
    """Alice finished, Bob answered one recognition scan, Carol never started, Dave answered one and was revoked."""
    finish(client, alice)
    carol, dave = invite(study, "carol"), invite(study, "dave")
    for invited, seconds in ((bob, 5.0), (dave, 12.0)):
        start(client, invited, level="senior", years_experience="9")
        position = next(i for i, task in enumerate(invited.refresh().plan) if task["kind"] == "recognition")
        post_answer(client, invited, **task_payload(invited, position), option=study.options[0], seconds=seconds)
    revoke(dave.refresh())
    return alice, bob, carol, dave


def test_it_shows_each_readers_status_tasks_minutes_and_times(client, coordinator, study, readers):
    alice, bob, carol, dave = (invited.refresh() for invited in readers)
    client.force_login(coordinator)
    response = client.get(_progress(study))
    rows = _rows(response)
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    statuses = [rows[r.label].status for r in (alice, bob, carol, dave)]
    assert statuses == ["finished", "started", "not started", "revoked"]
    total = len(alice.plan)
    assert [(rows[r.label].done, rows[r.label].total) for r in (alice, bob, carol, dave)] == [
        (total, total),
        (1, total),
        (0, total),
        (1, total),
    ]
    for reader in (alice, bob, carol, dave):
        assert rows[reader.label].minutes == pytest.approx(_seconds(reader) / 60)
        assert rows[reader.label].last_seen_at == reader.last_seen_at
        assert rows[reader.label].started_at == reader.started_at
    assert rows["bob"].minutes == pytest.approx(5 / 60) and rows["bob"].level == "Senior radiologist"
    assert rows["alice"].finished_at == alice.finished_at and rows["carol"].started_at is None
    page = response.content.decode()
    assert f"4 readers invited; 1 finished; {total + 2} of {4 * total} tasks answered" in page
    assert "<td>revoked</td>" in page and f"<td>1 / {total}</td>" in page and "<td>0.1</td>" in page
    assert alice.last_seen_at.strftime("%Y-%m-%d %H:%M") in page


def test_it_reveals_no_answer_source_or_scan(client, coordinator, study, readers):
    client.force_login(coordinator)
    page = client.get(_progress(study)).content.decode()
    secrets = [*study.options, *SOURCES, *Volume.objects.filter(study=study).values_list("name", flat=True)]
    secrets += [volume.key_id for volume in Volume.objects.filter(study=study)]
    assert not [secret for secret in secrets if secret in page]


def test_it_names_the_platform_and_is_linked_from_the_admin_exports_and_results(client, coordinator, study):
    client.force_login(coordinator)
    page = client.get(_progress(study)).content.decode()
    assert "MedSyn reader study" in page and "Django administration" not in page
    assert f"<title>Progress of {study.title}" in page
    for path in (
        "/admin/surveys/study/",
        f"/admin/surveys/study/{study.pk}/change/",
        reverse("surveys:results", args=[study.slug]),
        reverse("surveys:exports", args=[study.slug]),
    ):
        assert f'href="{_progress(study)}"' in client.get(path).content.decode(), path


def _scans(study, count: int) -> list[RecognitionItem]:
    """`count` more recognition scans (database rows only: the page never reads a file)."""
    volumes = Volume.objects.bulk_create(
        Volume(study=study, name=f"{i:024x}", key_id=f"crowd-{i}", source="real", sha256="0" * 64, raw_bytes=1)
        for i in range(count)
    )
    return RecognitionItem.objects.bulk_create(RecognitionItem(study=study, volume=volume) for volume in volumes)


def _crowd(study, items: list[RecognitionItem], readers: range) -> None:
    """Readers whose plan is `items` and who answered every one of them, 6 s each (stored directly)."""
    plan = [{"kind": "recognition", "volume": item.volume.name} for item in items]
    people = Reader.objects.bulk_create(
        Reader(study=study, index=i, label=f"crowd-{i:02d}", token_hash=f"{i:064x}", plan=plan) for i in readers
    )
    RecognitionAnswer.objects.bulk_create(
        RecognitionAnswer(reader=reader, item=item, option="x", seconds=6.0) for reader in people for item in items
    )


def _queries(client, study) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_progress(study)).status_code == 200
    return len(queries)


def test_fifty_readers_of_a_hundred_tasks_take_no_more_queries_than_five(
    client, coordinator, study, django_assert_max_num_queries
):
    client.force_login(coordinator)
    items = _scans(study, 100)
    _crowd(study, items, range(5))
    few = _queries(client, study)
    assert few <= 8
    _crowd(study, items, range(5, 50))
    with django_assert_max_num_queries(few):
        response = client.get(_progress(study))
    rows = _rows(response)
    assert len(rows) == 50 and all(row.done == row.total == 100 and row.minutes == 10.0 for row in rows.values())
