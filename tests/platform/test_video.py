"""The optional instruction video: shown on the welcome page, served only under the study's own opaque name."""

import json
import shutil

import pytest

from surveys.bundles import BundleError, import_bundle
from surveys.models import Study
from tests.platform.conftest import finish, invite, start

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
VIDEO_NAME = "4f2a9c0d1e7b3a5c6d8e9f01.mp4"


@pytest.fixture
def video_study(db, bundle, tmp_path):
    copy = tmp_path / "with-video"
    shutil.copytree(bundle, copy)
    (copy / "media").mkdir()
    (copy / "media" / VIDEO_NAME).write_bytes(VIDEO_BYTES)
    spec = json.loads((copy / "study.json").read_text())
    spec["video"] = f"media/{VIDEO_NAME}"
    (copy / "study.json").write_text(json.dumps(spec))
    study, _ = import_bundle(copy)
    Study.objects.filter(pk=study.pk).update(status=Study.OPEN)
    return study


def test_the_welcome_page_shows_the_instruction_video(client, video_study):
    reader = invite(video_study)
    page = client.get(reader.path("welcome")).content.decode()
    assert f'<video class="instruction-video" src="{reader.path("video", VIDEO_NAME)}"' in page


def test_the_video_is_served_to_readers_only_under_its_name(client, video_study):
    reader = invite(video_study)
    response = client.get(reader.path("video", VIDEO_NAME))
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content) == VIDEO_BYTES
    assert client.get(reader.path("video", "study.json")).status_code == 404
    assert client.get(f"/r/{'x' * 43}/media/4f2a9c0d1e7b3a5c6d8e9f01.mp4").status_code == 404


def test_a_bundle_naming_a_missing_video_is_refused(db, bundle, tmp_path):
    copy = tmp_path / "missing-video"
    shutil.copytree(bundle, copy)
    spec = json.loads((copy / "study.json").read_text())
    spec["video"] = "media/nowhere.mp4"
    (copy / "study.json").write_text(json.dumps(spec))
    with pytest.raises(BundleError, match="video media/nowhere.mp4 is missing"):
        import_bundle(copy)


def test_the_welcome_page_shown_again_after_invalid_demographics_keeps_the_video(client, video_study):
    reader = invite(video_study)
    response = start(client, reader, level="chief")
    assert response.status_code == 400
    assert f'src="{reader.path("video", VIDEO_NAME)}"' in response.content.decode()


def test_a_finished_reader_can_no_longer_download_the_video(client, video_study):
    reader = invite(video_study)
    finish(client, reader)
    response = client.get(reader.path("video", VIDEO_NAME))
    assert response.status_code == 403 and b"You have already finished this study." in response.content


def test_a_video_missing_on_disk_gives_404_and_logs_an_error_for_staff(client, video_study, caplog):
    reader = invite(video_study)
    (video_study.data_dir / "media" / VIDEO_NAME).unlink()
    assert client.get(reader.path("video", VIDEO_NAME)).status_code == 404
    assert [VIDEO_NAME in r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [True]
