"""A radiologist completes a small study in headless Chromium: recognition and ranking, keyboard ranks, a window
preset, linked scans, a reload midway that resumes, finish; then the exported CSVs hold exactly those answers. A save
that fails keeps its active time for the next one; a scan that cannot be downloaded says why."""

import csv
import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from surveys.models import RecognitionAnswer
from tests.browser.conftest import SCREENSHOTS
from tests.platform.conftest import invite

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _viewers_ready(page, count):
    page.wait_for_selector("body[data-viewers-ready=true]")
    assert page.evaluate("papayaContainers.length") == count


def _answer_recognition(page, option):
    page.get_by_label(option, exact=True).check()
    page.wait_for_function("document.getElementById('save-status').textContent === 'Saved'")


def _rank_with_keyboard(page, ranks):
    for letter, rank in ranks.items():
        page.focus(f"select[name=rank-{letter}]")
        page.keyboard.press(str(rank))
    page.wait_for_function("document.getElementById('save-status').textContent === 'Saved'")


LINKED = (
    "papayaContainers.every(p => ['x', 'y', 'z'].every("
    "k => p.viewer.currentCoord[k] === papayaContainers[0].viewer.currentCoord[k]))"
)
"""True in the page when all four scans show the same voxel."""


SCAN_BYTES_OVER_NETWORK = (
    "performance.getEntriesByType('resource')"
    ".filter(e => e.name.endsWith('.nii') && e.initiatorType === 'fetch').map(e => e.transferSize)"
)
"""Bytes each scan shown on the page took over the network (0 when the browser's cache answered; the next page's
scans, prefetched by <link> elements, are left out)."""


def _heap_bytes(page):
    """JavaScript heap in use after a full garbage collection (Chrome DevTools Protocol)."""
    session = page.context.new_cdp_session(page)
    session.send("HeapProfiler.collectGarbage")
    session.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in session.send("Performance.getMetrics")["metrics"]}
    session.detach()
    return metrics["JSHeapUsedSize"]


def _coords(page, index):
    return page.evaluate(
        f"(() => {{ const c = papayaContainers[{index}].viewer.currentCoord; return [c.x, c.y, c.z]; }})()"
    )


@pytest.fixture
def reader_link(live_server, study):
    invited = invite(study, "dr-browser")
    return invited, live_server.url + invited.path("welcome")


def test_a_radiologist_completes_the_study_and_the_exports_hold_the_answers(page, reader_link, study, tmp_path):
    invited, link = reader_link
    page.goto(link)
    page.screenshot(path=SCREENSHOTS / "1-welcome.png", full_page=True)
    page.fill("#id_years_experience", "11")
    page.select_option("#id_level", "senior")
    page.wait_for_selector("body[data-prefetched=true]")  # task 1's scan, fetched while the reader reads
    page.click("text=Start the study")

    # Task 1, recognition: opens in the lung window; the mediastinum preset is one click.
    _viewers_ready(page, 1)
    assert page.evaluate(SCAN_BYTES_OVER_NETWORK) == [0], "the scan prefetched by the welcome page came again"
    expect(page.locator("#window-width")).to_have_value("1500")
    expect(page.locator("#window-level")).to_have_value("-600")
    assert page.evaluate(
        "[papayaContainers[0].viewer.screenVolumes[0].screenMin, papayaContainers[0].viewer.screenVolumes[0].screenMax]"
    ) == [-1350, 150]
    page.click("button[data-preset=mediastinum]")
    page.wait_for_function("papayaContainers[0].viewer.screenVolumes[0].screenMin === -125")
    expect(page.locator("button[data-preset=mediastinum]")).to_have_attribute("aria-pressed", "true")
    page.click("#next")
    expect(page.locator("#missing")).to_contain_text("Choose a finding")
    _answer_recognition(page, "Pleural effusion")
    page.screenshot(path=SCREENSHOTS / "2-recognition.png", full_page=True)
    page.wait_for_selector("body[data-prefetched=true]")  # task 2's scan, fetched into the cache meanwhile
    page.click("#next")

    # Task 2, recognition, then the tab is reloaded: the link resumes here with the answer shown.
    page.wait_for_url("**/task/2/")
    _viewers_ready(page, 1)
    assert page.evaluate(SCAN_BYTES_OVER_NETWORK) == [0], "the prefetched scan was downloaded again"
    _answer_recognition(page, "Cardiomegaly")
    page.fill("#note", "enlarged cardiac silhouette")
    page.click("#options")  # blur saves the note
    page.wait_for_function("document.getElementById('save-status').textContent === 'Saved'")
    page.goto(link)
    page.wait_for_url("**/task/2/")
    expect(page.locator("input[value=Cardiomegaly]")).to_be_checked()
    expect(page.locator("#note")).to_have_value("enlarged cardiac silhouette")
    page.click("#next")

    # Task 3, ranking: four linked scans; ranks typed with the keyboard.
    page.wait_for_url("**/task/3/")
    _viewers_ready(page, 4)
    before = _coords(page, 1)
    box = page.locator("#viewer-1 canvas").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)  # cross-hair in scan B
    page.wait_for_function(LINKED + f" && papayaContainers[1].viewer.currentCoord.x !== {before[0]}")
    clicked = _coords(page, 1)
    assert clicked != before
    box = page.locator("#viewer-2 canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    for _ in range(3):
        page.mouse.wheel(0, 120)  # scrolling through slices of scan C moves all four
    page.wait_for_function(LINKED + f" && papayaContainers[2].viewer.currentCoord.z !== {clicked[2]}")
    page.click("button[data-preset=bone]")
    page.wait_for_function("papayaContainers.every(c => c.viewer.screenVolumes[0].screenMax === 1500)")
    page.click("#next")
    expect(page.locator("#missing")).to_contain_text("different rank")
    heap_on_first_ranking = _heap_bytes(page)
    first_ranks = {"A": 2, "B": 1, "C": 4, "D": 3}
    _rank_with_keyboard(page, first_ranks)
    page.screenshot(path=SCREENSHOTS / "3-ranking.png", full_page=True)
    page.click("#next")

    page.wait_for_url("**/task/4/")
    _viewers_ready(page, 4)
    assert _heap_bytes(page) < 1.5 * heap_on_first_ranking, "moving to the next page grew the JavaScript heap"
    _rank_with_keyboard(page, {"A": 1, "B": 2, "C": 3, "D": 4})
    page.click("#next")

    page.wait_for_url("**/finish")
    page.screenshot(path=SCREENSHOTS / "4-finish.png", full_page=True)
    page.click("#finish")
    page.click("#confirm-lock")  # locking asks first
    page.wait_for_selector("text=Thanks for your time, Dr Reader.")
    page.screenshot(path=SCREENSHOTS / "5-thanks.png", full_page=True)

    out = tmp_path / "export"
    call_command("export_responses", study.slug, "--out", str(out), stdout=io.StringIO())
    rows = lambda name: list(csv.DictReader((out / f"{name}.csv").open(encoding="utf-8")))  # noqa: E731
    readers = rows("readers")
    assert [(r["reader"], r["years_experience"], r["level"]) for r in readers] == [("dr-browser", "11", "senior")]
    assert readers[0]["finished"] and float(readers[0]["minutes"]) > 0
    pathology = {r["answer"]: r for r in rows("pathology")}
    assert all(float(r["seconds"]) > 0 for r in [*pathology.values(), *rows("rankings")]), "a page's time was lost"
    assert set(pathology) == {"Pleural effusion", "Cardiomegaly"}
    assert pathology["Cardiomegaly"]["note"] == "enlarged cardiac silhouette"
    plan = invited.refresh().plan
    by_volume = {study.volumes.get(name=n).key_id: r for n, r in zip(plan[2]["volumes"], first_ranks.values())}
    ranked = {r["volume"]: int(r["rank"]) for r in rows("rankings") if r["set"] == plan[2]["set"]}
    assert ranked == by_volume


def test_a_failed_save_keeps_its_active_seconds_for_the_next_save(page, reader_link):
    invited, link = reader_link
    page.goto(link)
    page.click("text=Start the study")
    _viewers_ready(page, 1)
    page.route("**/answer", lambda route: route.abort())
    page.wait_for_timeout(3000)  # active time on the task that the failed save carries
    page.get_by_label("Cardiomegaly", exact=True).check()
    page.wait_for_function("document.getElementById('save-status').textContent.startsWith('Not saved')")
    page.unroute("**/answer")
    _answer_recognition(page, "Pleural effusion")
    answer = RecognitionAnswer.objects.get(reader=invited.reader)
    assert answer.option == "Pleural effusion" and answer.seconds >= 3


def test_a_scan_that_cannot_be_downloaded_says_why(page, reader_link):
    _, link = reader_link
    page.route("**/*.nii", lambda route: route.fulfill(status=403, body="Forbidden"))
    page.goto(link)
    page.click("text=Start the study")
    page.wait_for_selector(".scan.failed")
    expect(page.locator("#load-status")).to_have_text(
        "Scan 1 could not be loaded: this link no longer opens this scan "
        "(the study may be finished or the link withdrawn)"
    )
