"""nginx in front, as deployed: Django decides who may see a scan, nginx sends the stored copy (X-Accel-Redirect), and
no header or length tells two sources apart. Needs Debian's nginx (skipped, saying so, without it)."""

from __future__ import annotations

import gzip

import pytest

from deploy.nginx import Nginx, nginx_binary
from deploy.probe import delivery_problems, fetch
from studies.delivery import decode
from tests.platform.conftest import invite

pytestmark = pytest.mark.django_db(transaction=True)

ACCEPT = {"zstd": "gzip, deflate, br, zstd", "gzip": "gzip, deflate, br", "identity": "identity"}


def _get(site, path: str, accept: str):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    connection.request("GET", path, headers={"Accept-Encoding": accept})
    response = connection.getresponse()
    return response.status, response.getheaders(), response.read()


def _one_scan_per_source(study, reader) -> dict[str, str]:
    """source → the opaque name of one scan of it in the reader's plan."""
    planned = {name for task in reader.plan for name in task.get("volumes", [task.get("volume")])}
    return {volume.source: volume.name for volume in study.volumes.filter(name__in=planned)}


@pytest.mark.parametrize("coding", ACCEPT)
def test_scans_of_every_source_get_identical_headers_through_nginx(nginx_site, study, bundle, coding):
    alice = invite(study, "alice")
    replies = {}
    for source, name in _one_scan_per_source(study, alice.reader).items():
        status, headers, body = _get(nginx_site, alice.path("volume", name), ACCEPT[coding])
        assert status == 200
        nifti = gzip.decompress((bundle / f"volumes/{name}.nii.gz").read_bytes())
        assert decode(body, coding) == nifti, "each copy decodes to the bundle's NIfTI"
        replies[source] = [(key, value) for key, value in headers if key != "Date"]
    assert len(replies) == 4
    looks = {tuple(headers) for headers in replies.values()}
    assert len(looks) == 1, f"headers differ between sources: {replies}"
    served = looks.pop()
    assert [key.lower() for key, _ in served].count("cache-control") == 1
    headers = dict(served)
    assert headers.get("Content-Encoding") == (None if coding == "identity" else coding)
    assert headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert headers["Content-Type"] == "application/octet-stream" and headers["Vary"] == "Accept-Encoding"
    assert not {"ETag", "Last-Modified", "Accept-Ranges", "X-Accel-Redirect"} & set(headers)


def test_nginx_sends_a_whole_scan_to_a_range_request(nginx_site, study):
    alice = invite(study, "alice")
    name = alice.reader.plan[0]["volume"]
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", nginx_site.port, timeout=10)
    connection.request("GET", alice.path("volume", name), headers={"Accept-Encoding": "zstd", "Range": "bytes=0-99"})
    response = connection.getresponse()
    assert response.status == 200 and len(response.read()) == int(response.getheader("Content-Length")) > 100


def test_django_still_refuses_a_scan_outside_the_plan_and_the_internal_location_is_not_public(nginx_site, study):
    alice = invite(study, "alice")
    planned = {name for task in alice.reader.plan for name in task.get("volumes", [task.get("volume")])}
    other = study.volumes.exclude(name__in=planned).first()
    if other is not None:
        assert _get(nginx_site, alice.path("volume", other.name), "zstd")[0] == 404
    name = alice.reader.plan[0]["volume"]
    assert _get(nginx_site, f"/_accel/zstd/{study.slug}/volumes/{name}.nii.zst", "zstd")[0] == 404
    assert _get(nginx_site, f"/r/not-a-token/scan/{name}.nii", "zstd")[0] == 404


def test_the_start_up_check_catches_a_location_that_points_elsewhere(live_server, settings, collected_static, tmp_path):
    settings.PLATFORM_X_ACCEL = True
    from bench.platform_server import free_port

    with Nginx(
        tmp_path / "nginx", free_port(), [live_server.url.split("//")[1]], collected_static, tmp_path / "x"
    ) as site:
        problems = delivery_problems(site.url)
    assert problems and all("must alias PLATFORM_DATA_DIR/studies/" in problem for problem in problems), problems


def test_the_start_up_check_catches_an_app_host_that_sends_files_itself(nginx_site, settings):
    settings.PLATFORM_X_ACCEL = False
    problems = delivery_problems(nginx_site.url)
    assert problems and all("Set PLATFORM_X_ACCEL=true" in problem for problem in problems), problems


def test_the_start_up_check_catches_an_app_without_nginx_in_front(live_server, settings):
    settings.PLATFORM_X_ACCEL = True
    problems = delivery_problems(live_server.url)
    assert problems and "X-Accel-Redirect reached the client" in problems[0], problems


def test_static_files_come_from_nginx_and_a_hashed_name_is_immutable_with_its_brotli_copy(nginx_site, tmp_path):
    status, headers, _ = fetch(nginx_site.url, "/static/surveys/reader.css")
    assert (status, headers["cache-control"]) == (200, "max-age=3600")  # a plain name: kept for an hour only
    static = nginx_site.static_root
    (static / "surveys" / "app.0123456789ab.js").write_bytes(b"plain")
    (static / "surveys" / "app.0123456789ab.js.br").write_bytes(b"brotli")
    status, headers, body = _get(nginx_site, "/static/surveys/app.0123456789ab.js", "gzip, deflate, br")
    assert [value for name, value in headers if name.lower() == "cache-control"] == [
        "public, max-age=31536000, immutable"
    ]  # one header: an inherited `expires` would add a second, contradicting it
    headers = dict(headers)
    assert (status, body, headers["Content-Encoding"]) == (200, b"brotli", "br")
    assert headers["Content-Type"] == "application/javascript"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    status, headers, body = _get(nginx_site, "/static/surveys/app.0123456789ab.js", "gzip")
    assert (status, body, "Content-Encoding" in dict(headers)) == (200, b"plain", False)


def test_a_reader_gets_a_clear_page_when_no_app_host_answers(collected_static, tmp_path):
    from bench.platform_server import free_port

    if nginx_binary() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    nobody = f"127.0.0.1:{free_port()}"
    with Nginx(tmp_path / "nginx", free_port(), [nobody], collected_static, tmp_path / "data") as site:
        status, headers, body = _get(site, "/r/some-token/task/2/", "gzip")
    assert status == 502 and dict(headers)["Retry-After"] == "30" and dict(headers)["Cache-Control"] == "no-store"
    assert b"Every answer it confirmed as saved is kept" in body


def test_check_delivery_passes_through_a_good_nginx_and_names_the_problem_otherwise(nginx_site, live_server, capsys):
    from django.core.management import CommandError, call_command

    call_command("check_delivery", nginx_site.url)
    assert "nginx sends scans, the instruction video and static files" in capsys.readouterr().out
    with pytest.raises(CommandError, match="X-Accel-Redirect reached the client"):
        call_command("check_delivery", live_server.url)
