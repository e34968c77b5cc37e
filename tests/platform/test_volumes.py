"""Volume delivery: int16 NIfTI under opaque names, only to readers whose plan shows them, zstd- or gzip-encoded,
cacheable.
"""

import gzip
import io
import shutil

import nibabel as nib
import pytest
import zstandard

from studies.delivery import decode
from surveys.models import Volume
from tests.platform.conftest import finish, invite


def _first_scan(invited):
    return invited.reader.plan[0]["volume"]


def _planned(invited):
    return {name for task in invited.reader.plan for name in task.get("volumes", [task.get("volume")])}


def test_it_serves_a_planned_scan_as_gzip_encoded_int16_nifti(client, alice):
    name = _first_scan(alice)
    response = client.get(alice.path("volume", name), HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip" and response["Content-Type"] == "application/octet-stream"
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    image = nib.Nifti1Image.from_bytes(gzip.decompress(body))
    assert image.get_data_dtype() == "int16" and image.shape == (32, 32, 32)


def test_the_url_ends_in_an_opaque_nii_file_name(alice):
    name = _first_scan(alice)
    assert alice.path("volume", name).endswith(f"/{name}.nii")


def test_it_sends_private_long_lived_caching_headers_and_an_etag(client, alice):
    response = client.get(alice.path("volume", _first_scan(alice)), HTTP_ACCEPT_ENCODING="gzip")
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert "Accept-Encoding" in response["Vary"] and response["ETag"]
    assert "Content-Disposition" not in response


def test_a_matching_etag_gets_not_modified(client, alice):
    path = alice.path("volume", _first_scan(alice))
    etag = client.get(path, HTTP_ACCEPT_ENCODING="gzip")["ETag"]
    assert client.get(path, HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_ENCODING="gzip").status_code == 304
    assert client.get(path, HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_ENCODING="identity").status_code == 200


def test_a_client_without_gzip_gets_the_plain_nifti(client, alice):
    response = client.get(alice.path("volume", _first_scan(alice)), HTTP_ACCEPT_ENCODING="identity")
    body = b"".join(response.streaming_content)
    assert "Content-Encoding" not in response and int(response["Content-Length"]) == len(body)
    assert nib.Nifti1Image.from_bytes(body).shape == (32, 32, 32)


def test_it_refuses_a_stored_volume_that_is_not_in_the_readers_plan(client, alice):
    planned = alice.reader.study.volumes.get(name=_first_scan(alice))
    extra = Volume.objects.create(
        study=planned.study, name="f" * 24, key_id="spare", source="real", sha256="0" * 64, raw_bytes=planned.raw_bytes
    )
    shutil.copyfile(planned.gzip_path, extra.gzip_path)
    assert client.get(alice.path("volume", extra.name), HTTP_ACCEPT_ENCODING="gzip").status_code == 404
    assert client.get(alice.path("volume", "0" * 24)).status_code == 404


def test_another_readers_token_works_only_for_their_own_plan(client, alice, study):
    bob = invite(study, "bob")
    assert client.get(bob.path("volume", _first_scan(alice)), HTTP_ACCEPT_ENCODING="gzip").status_code == 200
    assert client.get(f"/r/{'x' * 43}/scan/{_first_scan(alice)}.nii").status_code == 404


def test_a_browser_that_accepts_zstd_gets_the_zstd_copy_of_the_same_nifti(client, alice):
    path = alice.path("volume", _first_scan(alice))
    zstd = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br, zstd")
    assert zstd.status_code == 200 and zstd["Content-Encoding"] == "zstd"
    body = b"".join(zstd.streaming_content)
    assert int(zstd["Content-Length"]) == len(body)
    gzipped = b"".join(client.get(path, HTTP_ACCEPT_ENCODING="gzip").streaming_content)
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
    assert reader.read() == gzip.decompress(gzipped)


def test_a_browser_that_refuses_zstd_with_q_zero_gets_gzip(client, alice):
    response = client.get(alice.path("volume", _first_scan(alice)), HTTP_ACCEPT_ENCODING="zstd;q=0, gzip;q=0.8")
    assert response["Content-Encoding"] == "gzip"


def test_each_encoding_has_its_own_etag_and_the_same_caching_headers(client, alice):
    path = alice.path("volume", _first_scan(alice))
    responses = [client.get(path, HTTP_ACCEPT_ENCODING=accepted) for accepted in ("zstd", "gzip", "identity")]
    assert len({response["ETag"] for response in responses}) == 3
    for response in responses:
        assert (
            "Accept-Encoding" in response["Vary"]
            and response["Cache-Control"] == "private, max-age=31536000, immutable"
        )
    assert client.get(path, HTTP_IF_NONE_MATCH=responses[0]["ETag"], HTTP_ACCEPT_ENCODING="zstd").status_code == 304
    assert client.get(path, HTTP_IF_NONE_MATCH=responses[0]["ETag"], HTTP_ACCEPT_ENCODING="gzip").status_code == 200


@pytest.mark.parametrize("accepted", ["gzip, deflate, br, zstd", "gzip", "identity"])
def test_every_scan_a_reader_gets_has_the_same_length_in_one_coding(client, alice, accepted):
    lengths = set()
    for name in sorted(_planned(alice)):
        response = client.get(alice.path("volume", name), HTTP_ACCEPT_ENCODING=accepted)
        lengths.add((int(response["Content-Length"]), len(b"".join(response.streaming_content))))
    assert len(lengths) == 1


@pytest.mark.parametrize("coding", ["zstd", "gzip", "identity"])
def test_every_scan_decodes_to_the_bundles_nifti_with_nothing_but_zeros_beside_it(client, alice, bundle, coding):
    for name in _planned(alice):
        body = b"".join(client.get(alice.path("volume", name), HTTP_ACCEPT_ENCODING=coding).streaming_content)
        assert decode(body, coding) == gzip.decompress((bundle / f"volumes/{name}.nii.gz").read_bytes())


def test_a_finished_reader_can_no_longer_download_scans(client, alice):
    finish(client, alice)
    for accepted in ("zstd", "gzip", "identity"):
        response = client.get(alice.path("volume", _first_scan(alice)), HTTP_ACCEPT_ENCODING=accepted)
        assert response.status_code == 403 and b"You have already finished this study." in response.content


def test_a_volume_missing_on_disk_gives_404_and_logs_an_error_for_staff(client, alice, caplog):
    stored = alice.reader.study.volumes.get(name=_first_scan(alice))
    stored.gzip_path.unlink()
    assert client.get(alice.path("volume", stored.name), HTTP_ACCEPT_ENCODING="gzip").status_code == 404
    assert [stored.name in r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [True]
