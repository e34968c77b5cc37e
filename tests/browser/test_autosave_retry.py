"""While the study server cannot be reached (nginx without an app host: 502; no network at all) the page keeps the
answer, says that it will try again, and saves it by itself once the server is back: nothing is lost."""

import pytest
from playwright.sync_api import expect

from surveys.models import RecognitionAnswer
from tests.platform.conftest import invite

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NGINX_502 = "<html><body><h1>The study is briefly unavailable</h1></body></html>"


def test_an_answer_given_while_the_server_is_down_is_saved_when_it_is_back(page, live_server, study):
    invited = invite(study, "dr-retry")
    page.goto(live_server.url + invited.path("welcome"))
    page.click("text=Start the study")
    page.wait_for_selector("body[data-viewers-ready=true]")
    failures = []

    def down_twice(route):
        failures.append(route.request.post_data)
        if len(failures) == 1:
            route.fulfill(status=502, content_type="text/html", body=NGINX_502)
        elif len(failures) == 2:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route("**/answer", down_twice)
    page.get_by_label("Cardiomegaly", exact=True).check()
    status = page.locator("#save-status")
    expect(status).to_have_text(
        "Not saved yet: the study server is not answering (HTTP 502). Trying again in 1 s; "
        "your answer stays on this page."
    )
    expect(status).to_have_text(
        "Not saved yet: the study server cannot be reached. Trying again in 2 s; your answer stays on this page.",
        timeout=10_000,
    )
    expect(status).to_have_text("Saved", timeout=15_000)
    assert len(failures) == 3 and all(
        '"option": "Cardiomegaly"' in body or '"option":"Cardiomegaly"' in body for body in failures
    )
    assert RecognitionAnswer.objects.get(reader=invited.reader).option == "Cardiomegaly"
