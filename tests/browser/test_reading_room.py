"""The reading room at the screen sizes radiologists use (1920×1080 monitors, 1366×768 laptop windows): the scans
get the screen, ranks are typed with number keys on the highlighted scan, one scan enlarges and returns with its
state, zoom and slices follow the keyboard and stay linked, notes count their characters, the review shows every
answer before a confirmed lock, and paging through 20 task pages does not grow the JavaScript heap."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from surveys.models import RankingAnswer, RecognitionAnswer
from tests.browser.conftest import SCREENSHOTS
from tests.platform.conftest import invite, post_answer, start, task_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FULL_HD = (1920, 1080)
LAPTOP = (1366, 768)
HEAP_GROWTH_BOUND = 8 * 2**20
"""Bytes the JavaScript heap (after a full collection) may grow over 20 task pages: well under one 32³ page's
worth of Papaya state, so that a leak of viewers, volumes or listeners per page would exceed it."""


@pytest.fixture
def reader(live_server, study):
    """A started reader who has answered the two recognition tasks, so that the ranking tasks are open."""
    invited = invite(study, "dr-room")
    client = Client()
    start(client, invited)
    for position in (0, 1):
        post_answer(client, invited, **task_payload(invited, position), option="Cardiomegaly", seconds=2.0)
    return invited, client, live_server.url


@pytest.fixture
def tab(reader, page):
    """The test's page, closed (by `new_page`) before the reader's database is emptied."""
    return page


def _open(page, url, size, scans):
    """Open a task page at viewport `size` and wait until its `scans` viewers are drawn."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(url)
    page.wait_for_selector("body[data-viewers-ready=true]")
    assert page.evaluate("papayaContainers.length") == scans


def _canvases(page):
    """Bounding boxes of the Papaya viewer canvases shown (not those of a hidden scan)."""
    return [
        box
        for box in (c.bounding_box() for c in page.locator(".scan .papaya-viewer canvas").all())
        if box and box["x"] >= 0
    ]


def _inside(box, size):
    return (
        box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size[0] and box["y"] + box["height"] <= size[1]
    )


def _state(page, index):
    """What enlarging must keep: position, zoom and window of scan `index`."""
    return page.evaluate(
        f"""(() => {{ const v = papayaContainers[{index}].viewer, c = v.currentCoord;
        return [c.x, c.y, c.z, v.zoomFactor, v.screenVolumes[0].screenMin, v.screenVolumes[0].screenMax]; }})()"""
    )


def _hover(page, index):
    box = page.locator(f"#viewer-{index} .papaya-viewer canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)


def test_at_1920x1080_the_four_scans_cover_at_least_45_percent_of_the_screen(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 3), FULL_HD, 4)
    boxes = _canvases(page)
    covered = sum(b["width"] * b["height"] for b in boxes) / (FULL_HD[0] * FULL_HD[1])
    page.screenshot(path=SCREENSHOTS / "room-ranking-1920.png")
    assert len(boxes) == 4 and covered >= 0.45, f"the scans cover {covered:.0%} of the screen"
    assert all(_inside(b, FULL_HD) for b in boxes)


def test_at_1366x768_the_scans_their_ranks_and_next_are_visible_without_scrolling(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 3), LAPTOP, 4)
    page.screenshot(path=SCREENSHOTS / "room-ranking-1366.png")
    boxes = _canvases(page) + [s.bounding_box() for s in page.locator("select.rank").all()]
    boxes.append(page.locator("#next").bounding_box())
    assert len(boxes) == 9 and all(_inside(b, LAPTOP) for b in boxes), boxes
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")


@pytest.mark.parametrize("size", [FULL_HD, LAPTOP], ids=["1920x1080", "1366x768"])
def test_the_recognition_scan_gets_the_room_beside_the_answers(tab, reader, size):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 1), size, 1)
    page.screenshot(path=SCREENSHOTS / f"room-recognition-{size[0]}.png")
    (box,) = _canvases(page)
    assert _inside(box, size) and box["width"] * box["height"] >= 0.45 * size[0] * size[1]
    assert _inside(page.locator("#next").bounding_box(), size)
    assert _inside(page.locator("#note").bounding_box(), size)


def test_number_keys_rank_the_scan_under_the_mouse_or_the_focused_one(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 3), FULL_HD, 4)
    for index, rank in [(0, 3), (1, 1)]:
        _hover(page, index)
        page.keyboard.press(str(rank))
    for index, rank in [(2, 4), (3, 2)]:
        page.focus(f".scan[data-index='{index}']")
        page.keyboard.press(str(rank))
    page.wait_for_function("document.getElementById('save-status').textContent === 'Saved'")
    names = invited.refresh().plan[2]["volumes"]
    assert RankingAnswer.objects.get(reader=invited.reader).ranks == dict(zip(names, [3, 1, 4, 2]))
    keys = page.text_content("#keys")
    assert "1–4" in keys and "enlarge" in keys


def test_keys_page_through_slices_and_zoom_all_linked_scans(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 3), FULL_HD, 4)
    _hover(page, 2)
    before = page.text_content(".scan[data-index='2'] .slice-position")
    z = page.evaluate("papayaContainers[2].viewer.currentCoord.z")
    for _ in range(3):
        page.keyboard.press("j")
    page.wait_for_function(f"papayaContainers.every(p => p.viewer.currentCoord.z === {z - 3})")
    total = before.split("/")[1].strip()
    for index in range(4):
        expected = f"Slice {int(before.split()[1]) + 3} / {total}"
        expect(page.locator(f".scan[data-index='{index}'] .slice-position")).to_have_text(expected)
    page.keyboard.press("+")
    page.keyboard.press("+")
    page.wait_for_function(f"papayaContainers.every(p => p.viewer.zoomFactor === {1.25**2})")
    page.keyboard.press("0")
    page.wait_for_function("papayaContainers.every(p => p.viewer.zoomFactor === 1)")


def test_a_scan_enlarges_and_returns_with_its_position_zoom_and_window(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 3), LAPTOP, 4)
    page.click("button[data-preset=mediastinum]")
    _hover(page, 1)
    page.keyboard.press("j")
    page.keyboard.press("+")
    small = page.locator("#viewer-1 .papaya-viewer canvas").bounding_box()
    state = _state(page, 1)
    page.keyboard.press("e")
    page.wait_for_selector(".scan.enlarged[data-index='1']")
    (big,) = _canvases(page)
    page.screenshot(path=SCREENSHOTS / "room-enlarged-1366.png")
    assert big["width"] > 1.8 * small["width"] and _inside(big, LAPTOP)
    expect(page.locator(".scan[data-index='1'] .enlarge")).to_have_attribute("aria-pressed", "true")
    assert _state(page, 1) == state
    page.keyboard.press("Escape")
    page.wait_for_selector(".scan.enlarged", state="detached")
    page.wait_for_function(
        """small => { const r = document.querySelector('#viewer-1 .papaya-viewer canvas').getBoundingClientRect();
        return r.x === small.x && r.y === small.y && r.width === small.width && r.height === small.height; }""",
        arg=small,
    )
    assert len(_canvases(page)) == 4
    assert _state(page, 1) == state


def test_a_double_click_or_the_button_enlarges_a_scan_and_the_same_returns_it(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 3), FULL_HD, 4)
    page.dblclick("#viewer-2 .papaya-viewer canvas")
    page.wait_for_selector(".scan.enlarged[data-index='2']")
    page.dblclick("#viewer-2 .papaya-viewer canvas")
    page.wait_for_selector(".scan.enlarged", state="detached")
    page.click(".scan[data-index='3'] .enlarge")
    page.wait_for_selector(".scan.enlarged[data-index='3']")
    page.click(".scan[data-index='3'] .enlarge")
    page.wait_for_selector(".scan.enlarged", state="detached")
    assert len(_canvases(page)) == 4


def test_the_page_goes_full_screen_and_back(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 1), LAPTOP, 1)
    page.click("#full-screen")
    page.wait_for_function("document.fullscreenElement === document.documentElement")
    expect(page.locator("#full-screen")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("f")
    page.wait_for_function("document.fullscreenElement === null")
    expect(page.locator("#full-screen")).to_have_attribute("aria-pressed", "false")


def test_typing_a_note_reaches_the_note_not_papaya_and_the_counter_shows_the_limit(tab, reader):
    page = tab
    invited, _, base = reader
    _open(page, base + invited.path("task", 1), LAPTOP, 1)
    ruler = "papayaContainers[0].preferences.showRuler"
    shown = page.evaluate(ruler)
    page.click("#note")
    page.keyboard.type("r a c o")  # R, Space, A, C and O are Papaya's ruler, swap, cross-hair, centre and origin
    expect(page.locator("#note")).to_have_value("r a c o")
    assert page.evaluate(ruler) == shown
    assert page.evaluate("papayaContainers[0].viewer.mainImage === papayaContainers[0].viewer.axialSlice")
    expect(page.locator("#note-count")).to_have_text("7 / 5000 characters")
    expect(page.locator("#keys")).to_contain_text("J / K")
    expect(page.locator("#keys")).not_to_contain_text("1–")
    page.fill("#note", "x" * 5003)
    expect(page.locator("#note-count")).to_contain_text("3 characters over the 5000-character limit")
    page.click("#next")
    expect(page.locator("#missing")).to_contain_text("Shorten the note")
    expect(page.locator("#note")).to_have_value("x" * 5003)
    assert (
        RecognitionAnswer.objects.get(
            reader=invited.reader, item__volume__name=invited.refresh().plan[0]["volume"]
        ).note
        == ""
    )


def test_the_review_shows_every_answer_and_locking_needs_a_confirmation(tab, reader):
    page = tab
    invited, client, base = reader
    for position in (2, 3):
        ranks = {n: i + 1 for i, n in enumerate(invited.refresh().plan[position]["volumes"])}
        post_answer(client, invited, **task_payload(invited, position), ranks=ranks, seconds=2.0)
    noted = post_answer(client, invited, **task_payload(invited, 1), note="small left effusion " * 240, seconds=1.0)
    assert noted.status_code == 200, noted.content
    page.set_viewport_size({"width": LAPTOP[0], "height": LAPTOP[1]})
    page.goto(base + invited.path("finish"))
    rows = page.locator(".review-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.locator("td:nth-child(3)")).to_have_text(
        ["Cardiomegaly", "Cardiomegaly", "A 1 · B 2 · C 3 · D 4", "A 1 · B 2 · C 3 · D 4"]
    )
    expect(rows.nth(1)).to_contain_text("small left effusion")
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"), "a long note widened the page"
    page.screenshot(path=SCREENSHOTS / "room-review-1366.png", full_page=True)
    page.click("#back")
    page.wait_for_url("**/task/4/")
    page.goto(base + invited.path("finish"))
    page.click("#finish")
    expect(page.locator("#confirm-finish")).to_be_visible()
    page.click("#cancel-finish")
    expect(page.locator("#confirm-finish")).to_be_hidden()
    assert invited.refresh().finished_at is None
    page.click("#finish")
    page.click("#confirm-lock")
    page.wait_for_selector("text=Thanks for your time, Dr Reader.")
    assert invited.refresh().is_locked


def test_the_review_names_what_is_missing(tab, reader):
    page = tab
    invited, _, base = reader
    page.goto(base + invited.path("finish"))
    expect(page.locator(".missing")).to_contain_text("2 of 4 tasks still need an answer: task 3, task 4.")
    expect(page.locator("#finish")).to_have_count(0)


def test_window_and_link_choices_follow_the_reader_to_the_next_page_of_the_study(tab, reader):
    page = tab
    invited, client, base = reader
    ranks = {n: i + 1 for i, n in enumerate(invited.refresh().plan[2]["volumes"])}
    post_answer(client, invited, **task_payload(invited, 2), ranks=ranks, seconds=2.0)
    _open(page, base + invited.path("task", 3), LAPTOP, 4)
    page.click("button[data-preset=bone]")
    page.uncheck("#link-viewers")
    _open(page, base + invited.path("task", 4), LAPTOP, 4)
    expect(page.locator("#link-viewers")).not_to_be_checked()
    expect(page.locator("#window-width")).not_to_have_value("2000")  # a window chosen for one structure stays there
    _open(page, base + invited.path("task", 3), LAPTOP, 4)
    expect(page.locator("#window-width")).to_have_value("2000")
    expect(page.locator("#window-level")).to_have_value("500")


@pytest.mark.slow
def test_paging_through_20_task_pages_does_not_grow_the_javascript_heap(tab, reader):
    page = tab
    invited, client, base = reader
    for position in (2, 3):
        ranks = {n: i + 1 for i, n in enumerate(invited.refresh().plan[position]["volumes"])}
        post_answer(client, invited, **task_payload(invited, position), ranks=ranks, seconds=2.0)
    _open(page, base + invited.path("task", 1), LAPTOP, 1)
    first = _heap_bytes(page)
    number = 1
    for target in ([2, 3, 4, 3, 2, 1] * 4)[:20]:
        page.keyboard.press("n" if target > number else "p")
        number = target
        page.wait_for_url(f"**/task/{target}/")
        page.wait_for_selector("body[data-viewers-ready=true]")
    growth = _heap_bytes(page) - first
    print(
        f"JS heap after a full collection: {first / 2**20:.1f} MiB on the first page, growth {growth / 2**20:+.2f} MiB"
    )
    assert growth < HEAP_GROWTH_BOUND


def _heap_bytes(page):
    """JavaScript heap in use after a full garbage collection (Chrome DevTools Protocol)."""
    session = page.context.new_cdp_session(page)
    session.send("HeapProfiler.collectGarbage")
    session.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in session.send("Performance.getMetrics")["metrics"]}
    session.detach()
    return metrics["JSHeapUsedSize"]
