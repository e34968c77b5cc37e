"""The coordinator's admin: every list loads, studies open and close, invitations are created and revoked."""

import re

import pytest

from surveys.models import Reader, Study, set_status
from tests.platform.conftest import answer_everything, start


@pytest.fixture
def staff_client(client, coordinator, alice):
    start(client, alice)
    answer_everything(client, alice)
    client.force_login(coordinator)
    return client


@pytest.mark.parametrize(
    "model", ["study", "reader", "recognitionanswer", "rankinganswer", "answerchange", "resultslook"]
)
def test_every_admin_list_loads(staff_client, model):
    assert staff_client.get(f"/admin/surveys/{model}/").status_code == 200


def test_the_reader_list_shows_progress_and_minutes(staff_client):
    page = staff_client.get("/admin/surveys/reader/").content.decode()
    assert "4/4" in page and "0.2" in page


def test_answers_are_read_only_in_the_admin(staff_client):
    from surveys.models import RecognitionAnswer

    answer = RecognitionAnswer.objects.first()
    response = staff_client.post(f"/admin/surveys/recognitionanswer/{answer.pk}/change/", {"option": "Cardiomegaly"})
    assert response.status_code == 403


def test_the_invite_action_creates_a_reader_and_shows_the_link_once(staff_client, study):
    response = staff_client.post(
        "/admin/surveys/study/", {"action": "invite_one_reader", "_selected_action": [study.pk]}, follow=True
    )
    assert re.search(r"https://reader\.example\.org/r/[\w-]{43}/", response.content.decode())
    assert Reader.objects.count() == 2


def test_the_revoke_action_withdraws_a_link(staff_client, alice):
    staff_client.post("/admin/surveys/reader/", {"action": "revoke_invitations", "_selected_action": [alice.reader.pk]})
    assert alice.refresh().revoked_at is not None
    staff_client.logout()
    assert staff_client.get(alice.path("welcome")).status_code == 403


def test_the_close_action_closes_a_study(staff_client, study):
    staff_client.post("/admin/surveys/study/", {"action": "close_studies", "_selected_action": [study.pk]})
    assert Study.objects.get().status == Study.CLOSED


def _reissue(staff_client, invited) -> str:
    response = staff_client.post(
        "/admin/surveys/reader/", {"action": "reissue_links", "_selected_action": [invited.reader.pk]}, follow=True
    )
    (link,) = re.findall(r"https://reader\.example\.org(/r/[\w-]{43}/)", response.content.decode())
    return link


def test_reissuing_a_link_shows_the_new_one_once_and_the_old_one_stops_working(staff_client, alice):
    link = _reissue(staff_client, alice)
    assert link not in staff_client.get("/admin/surveys/reader/").content.decode(), "the link was shown twice"
    staff_client.logout()
    assert staff_client.get(alice.path("welcome")).status_code == 404, "the old link still opens"
    assert staff_client.get(link, follow=True).status_code == 200
    assert alice.refresh().progress() == (4, 4), "reissuing lost answers"


def test_a_revoked_reader_stays_revoked_when_reissued_until_staff_restore_them(staff_client, alice):
    staff_client.post("/admin/surveys/reader/", {"action": "revoke_invitations", "_selected_action": [alice.reader.pk]})
    link = _reissue(staff_client, alice)
    assert alice.refresh().revoked_at is not None
    staff_client.post("/admin/surveys/reader/", {"action": "restore_readers", "_selected_action": [alice.reader.pk]})
    assert alice.refresh().revoked_at is None
    staff_client.logout()
    assert staff_client.get(link, follow=True).status_code == 200


def test_the_reader_list_shows_when_each_reader_was_last_seen(staff_client, alice):
    page = staff_client.get(f"/admin/surveys/reader/?study__id__exact={alice.reader.study.pk}").content.decode()
    assert "last seen" in page.lower() and "alice" in page


def test_staff_pages_name_the_platform_not_django(staff_client, study):
    for path in ("/admin/", f"/staff/studies/{study.slug}/exports/", f"/staff/studies/{study.slug}/results/"):
        page = staff_client.get(path).content.decode()
        assert "MedSyn reader study" in page and "Django administration" not in page, path


def test_the_results_page_renders_the_report_as_html(staff_client, study):
    set_status(Study.objects.filter(pk=study.pk), Study.CLOSED)  # closing unlocks the results
    page = staff_client.get(f"/staff/studies/{study.slug}/results/").content.decode()
    report = page.split('<div class="results-report">', 1)[1].split("</div>", 1)[0]
    assert report.startswith("<h1>") and "<p>" in report
    assert "**" not in report and "\n#" not in report, "markdown left unrendered"
