"""Blinding: nothing a reader receives (pages, scripts, headers, volume bytes) names a source, id or original file."""

import gzip
import re

import pytest
import zstandard
from django.contrib.staticfiles import finders

from tests.platform.conftest import answer_everything, start

OUR_SCRIPTS = [
    "surveys/viewer.js",
    "surveys/autosave.js",
    "surveys/keys.js",
    "surveys/room.js",
    "surveys/prefetch.js",
    "surveys/reader.css",
]


@pytest.fixture
def secrets_of(study):
    """Every word of the researcher's key that a reader must never see."""
    words = set()
    for volume in study.volumes.all():
        words |= {volume.key_id, volume.original_file, volume.sha256, volume.source}
        words |= {volume.original_file.rsplit("/", 1)[-1]}
    words |= {"ha-gan", "medical-diffusion", "medsyn", "synthetic", "generated"}
    return {w for w in words if w}


def _leaks(text: str, words: set[str]) -> list[str]:
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.IGNORECASE)]


def _everything_a_reader_receives(client, invited):
    responses = [client.get(invited.path("welcome")), start(client, invited)]
    for number in range(1, len(invited.reader.plan) + 1):
        responses.append(client.get(invited.path("task", number)))
    answer_everything(client, invited)
    responses += [client.get(invited.path("finish")), client.post(invited.path("finish"), follow=True)]
    return responses


def test_no_page_or_header_names_a_source_id_or_file(client, alice, secrets_of):
    alice.reader.study.title = "Reader study of chest CT"
    alice.reader.study.save()
    for response in _everything_a_reader_receives(client, alice):
        text = response.content.decode() + " ".join(f"{k}: {v}" for k, v in response.items())
        assert _leaks(text, secrets_of) == [], response.request["PATH_INFO"]


def test_our_scripts_and_styles_name_no_source(secrets_of):
    for name in OUR_SCRIPTS:
        with open(finders.find(name), encoding="utf-8") as handle:
            assert _leaks(handle.read(), secrets_of) == [], name


def test_volume_responses_carry_no_source_id_or_file_name(client, alice, secrets_of):
    for task in alice.reader.plan:
        for name in task.get("volumes", [task.get("volume")]):
            response = client.get(alice.path("volume", name), HTTP_ACCEPT_ENCODING="gzip")
            body = b"".join(response.streaming_content)
            assert body[3] == 0, "the gzip header carries no flags (no original file name)"
            header = gzip.decompress(body)[:352].decode("latin-1")
            headers = " ".join(f"{k}: {v}" for k, v in response.items())
            assert _leaks(header + headers, secrets_of) == []


def test_the_task_pages_name_scans_only_by_letter_and_opaque_name(client, alice):
    start(client, alice)
    answer_everything(client, alice)
    page = client.get(alice.path("task", 3)).content.decode()
    names = set(re.findall(r"/scan/([0-9a-z]+)\.nii", page))
    assert names == set(alice.reader.plan[2]["volumes"]) | set(
        alice.reader.plan[3]["volumes"]
    )  # this task's, the next's
    assert all(re.fullmatch(r"[0-9a-f]{24}", name) for name in names)


@pytest.mark.parametrize("accepted", ["zstd", "gzip", "identity"])
def test_volume_responses_of_different_sources_differ_only_in_etag_and_bytes(client, alice, accepted):
    names = alice.reader.plan[2]["volumes"]
    seen = set()
    for name in names:
        response = client.get(alice.path("volume", name), HTTP_ACCEPT_ENCODING=accepted)
        body = b"".join(response.streaming_content)
        frame = zstandard.get_frame_parameters(body) if accepted == "zstd" else None
        frame_fields = (frame.content_size, frame.window_size, frame.dict_id, frame.has_checksum) if frame else None
        headers = {k: v for k, v in response.items() if k not in ("ETag", "Content-Length")}
        seen.add((tuple(sorted(headers.items())), frame_fields))
    assert len(seen) == 1, "headers (and zstd frame parameters) are the same for every source"
