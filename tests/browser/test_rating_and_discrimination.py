"""A reader scores a scan and judges another real or synthetic with the keyboard alone, in Chromium."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from playwright.sync_api import expect

from surveys.models import DiscriminationAnswer, RatingAnswer
from tests.browser.conftest import SCREENSHOTS, _wait_for_the_live_server_to_finish_its_requests
from tests.browser.test_reading_room import LAPTOP, _inside
from tests.platform.conftest import invite, post_answer, start, task_payload, valid_answer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _answer_before(invited, client, kind: str) -> int:
    """Answer (through the API) every task before the reader's first task of `kind`; return its position."""
    plan = invited.refresh().plan
    first = next(i for i, task in enumerate(plan) if task["kind"] == kind)
    for position, task in enumerate(plan[:first]):
        extra = valid_answer(invited.reader.study, task)
        assert post_answer(client, invited, **task_payload(invited, position), **extra).status_code == 200
    return first


def _open(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-viewers-ready=true]")


def _saved(page):
    page.wait_for_function("document.getElementById('save-status').textContent === 'Saved'")


def _stored(read, expected, limit_s: float = 10.0):
    """Poll the database until `read()` gives `expected` (saves are queued: "Saved" may name an earlier one)."""
    deadline = time.monotonic() + limit_s
    while read() != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read() == expected


def test_a_reader_scores_and_judges_scans_with_the_keyboard(live_server, mixed_study, page):
    invited = invite(mixed_study, "dr-keys")
    client = Client()
    start(client, invited)
    rating = _answer_before(invited, client, "rating")
    _open(page, live_server.url + invited.path("task", rating + 1))
    page.keyboard.press("5")  # not a point of the 4-point scale: nothing happens
    expect(page.locator("input[name=score]:checked")).to_have_count(0)
    page.keyboard.press("3")
    _saved(page)
    expect(page.locator("input[name=score]:checked")).to_have_value("3")
    assert RatingAnswer.objects.get(reader=invited.reader).score == 3
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.url.endswith(invited.path("task", rating + 2))
    # The new page's own requests would hold SQLite's table lock while the test client writes: let them finish.
    page.goto("about:blank")
    _wait_for_the_live_server_to_finish_its_requests()

    first = _answer_before(invited, client, "discrimination")
    page.set_viewport_size({"width": LAPTOP[0], "height": LAPTOP[1]})
    _open(page, live_server.url + invited.path("task", first + 1))
    page.screenshot(path=SCREENSHOTS / "room-discrimination-1366.png")
    controls = ["input[name=answer]", "input[name=confidence]", "#note", "#next"]
    boxes = [box for selector in controls for box in (e.bounding_box() for e in page.locator(selector).all())]
    assert len(boxes) == 2 + 5 + 2 and all(_inside(box, LAPTOP) for box in boxes), boxes
    (scan,) = [c.bounding_box() for c in page.locator(".scan .papaya-viewer canvas").all()]
    assert _inside(scan, LAPTOP) and scan["width"] * scan["height"] >= 0.45 * LAPTOP[0] * LAPTOP[1]
    page.keyboard.press("n")  # neither answer nor confidence yet: the page says what is missing and stays
    expect(page.locator("#missing")).to_contain_text("real or synthetic")
    page.keyboard.press("l")
    _saved(page)
    page.keyboard.press("s")
    page.keyboard.press("4")
    judged = DiscriminationAnswer.objects.filter(reader=invited.reader)
    _stored(lambda: judged.values_list("answer", "confidence").first(), ("synthetic", 4))
    expect(page.locator("input[name=confidence]:checked")).to_have_value("4")
    changes = invited.refresh().answer_changes.filter(task__startswith="discrimination").order_by("changed_at")
    assert [(c.value["answer"], c.value["confidence"]) for c in changes] == [
        ("real", None),
        ("synthetic", None),
        ("synthetic", 4),
    ]
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.url.endswith(invited.path("task", first + 2))
