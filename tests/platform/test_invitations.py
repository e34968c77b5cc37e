"""Invitations: unguessable links, stored only as hashes; forged, revoked and finished links are refused."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from surveys.invitations import revoke
from surveys.models import Reader, Study
from tests.platform.conftest import invite


def test_invite_reader_prints_one_absolute_link_per_reader(study):
    out = io.StringIO()
    call_command("invite_reader", study.slug, "--count", "3", stdout=out, stderr=io.StringIO())
    links = out.getvalue().split()
    assert len(links) == 3 and len(set(links)) == 3
    assert all(link.startswith("https://reader.example.org/r/") for link in links)
    assert list(Reader.objects.values_list("label", flat=True)) == ["reader-01", "reader-02", "reader-03"]


def test_invite_reader_names_a_reader_when_asked(study):
    call_command("invite_reader", study.slug, "--name", "Dr Okafor", stdout=io.StringIO(), stderr=io.StringIO())
    assert Reader.objects.get().label == "Dr Okafor"


def test_invite_reader_refuses_an_unknown_study(study):
    with pytest.raises(CommandError, match="no study with slug 'nope'"):
        call_command("invite_reader", "nope")


def test_the_token_has_at_least_128_bits_and_only_its_hash_is_stored(alice):
    assert len(alice.token) >= 43  # base64url: 6 bits per character, 43 characters = 256 bits
    stored = Reader.objects.get(pk=alice.reader.pk)
    assert stored.token_hash == hashlib.sha256(alice.token.encode()).hexdigest()
    assert alice.token not in str(Reader.objects.values().get(pk=alice.reader.pk))


def test_it_rejects_a_forged_token(client, alice):
    forged = alice.token[:-4] + ("AAAA" if not alice.token.endswith("AAAA") else "BBBB")
    response = client.get(f"/r/{forged}/")
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_a_revoked_link_is_refused(client, alice):
    revoke(alice.reader)
    response = client.get(alice.path("welcome"))
    assert response.status_code == 403 and b"withdrawn" in response.content


def test_a_link_to_a_study_that_is_not_open_is_refused(client, alice):
    Study.objects.update(status=Study.CLOSED)
    assert client.get(alice.path("welcome")).status_code == 403


def test_a_finished_link_shows_the_thank_you_page(client, alice):
    Reader.objects.filter(pk=alice.reader.pk).update(started_at=timezone.now(), finished_at=timezone.now())
    response = client.get(alice.path("welcome"))
    assert response.status_code == 200 and b"Thanks for your time, Dr Reader." in response.content


def test_each_reader_gets_the_next_plan_index(study):
    readers = [invite(study).reader for _ in range(3)]
    assert [r.index for r in readers] == [0, 1, 2]
