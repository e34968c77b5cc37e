"""Blinding as the reader's browser sees it: a radiologist completes the whole study in Chromium through nginx (as
deployed: scans sent by nginx on Django's X-Accel-Redirect), once receiving zstd and once gzip, while every response
is recorded (URL, status, headers, bytes on the wire). No URL, header or byte length separates the sources, and the
bytes each Papaya viewer was given are the bundle's NIfTI."""

from __future__ import annotations

import gzip
import hashlib
import re

import pytest

from tests.platform.conftest import invite

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEIVED = """
window.__received = [];
window.addEventListener("load", function () {
  if (!window.papaya) { return; }
  var addViewer = papaya.Container.addViewer;
  papaya.Container.addViewer = function (id, params) {
    var url = document.getElementById(id).closest(".scan").dataset.url;
    window.__received.push(crypto.subtle.digest("SHA-256", params.binaryImages[0]).then(function (digest) {
      var hex = Array.from(new Uint8Array(digest), function (b) { return b.toString(16).padStart(2, "0"); });
      return [url, hex.join("")];
    }));
    return addViewer.apply(this, arguments);
  };
});
"""
"""Runs before the page's scripts (and its load listener before viewer.js's): the SHA-256 of the bytes each viewer
is handed, by scan URL."""
SCAN_URL = re.compile(r"/scan/([0-9a-f]{24})\.nii$")
VARIABLE_HEADERS = {"date"}
"""Headers that differ between any two responses whatever their source: the clock (nginx sends no ETag)."""
CODINGS = {"zstd": "gzip, deflate, br, zstd", "gzip": "gzip, deflate, br"}
"""What the browser advertises in each run; without zstd the platform must send gzip."""


def _complete_the_study(page, link: str) -> dict[str, str]:
    """Start, answer every task as a reader would and finish; returns the digest each viewer received, by name."""
    received = {}
    page.goto(link)
    with page.expect_navigation():
        page.click("text=Start the study")
    while True:
        page.wait_for_selector("body[data-viewers-ready=true], #finish")
        if page.locator("#finish").count():
            break
        for url, digest in page.evaluate("Promise.all(window.__received)"):
            received[SCAN_URL.search(url).group(1)] = digest
        selects = page.locator("select.rank")
        if selects.count():
            for rank in range(1, selects.count() + 1):
                selects.nth(rank - 1).select_option(str(rank))
        else:
            page.locator("input[type=radio]").first.check()
        page.wait_for_function("document.getElementById('save-status').textContent === 'Saved'")
        with page.expect_navigation():
            page.click("#next")
    page.click("#finish")
    page.click("#confirm-lock")  # locking asks first
    page.wait_for_selector("text=Thanks for your time")
    return received


def _secrets(study) -> set[str]:
    """Every word of the researcher's key that a reader must never see."""
    words = {"ha-gan", "medical-diffusion", "medsyn", "synthetic", "generated"}
    for volume in study.volumes.all():
        words |= {volume.key_id, volume.source, volume.sha256, volume.original_file.rsplit("/", 1)[-1]}
    return {word for word in words if word}


@pytest.mark.parametrize("coding", CODINGS)
def test_nothing_the_browser_receives_separates_the_sources(new_page, nginx_site, study, bundle, coding):
    invited = invite(study, f"dr-{coding}")
    page = new_page(extra_http_headers={"Accept-Encoding": CODINGS[coding]})
    page.context.add_init_script(RECEIVED)
    recorded = []

    def record(request):
        response = request.response()
        recorded.append(
            {
                "url": request.url,
                "status": response.status,
                "headers": response.all_headers(),
                "wire_bytes": request.sizes()["responseBodySize"],
            }
        )

    page.context.on("requestfinished", record)
    received = _complete_the_study(page, nginx_site.url + invited.path("welcome"))

    secrets = _secrets(study)
    for response in recorded:
        text = response["url"] + " " + " ".join(f"{k}: {v}" for k, v in response["headers"].items())
        leaks = [w for w in secrets if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.IGNORECASE)]
        assert leaks == [], response["url"]

    sources = {volume.name: volume.source for volume in study.volumes.all()}
    scans = [r | {"name": SCAN_URL.search(r["url"]).group(1)} for r in recorded if SCAN_URL.search(r["url"])]
    over_network = [scan for scan in scans if scan["wire_bytes"] > 0]  # the rest came from the prefetch cache
    shown = {name for task in invited.refresh().plan for name in task.get("volumes", [task.get("volume")])}
    assert {scan["name"] for scan in over_network} == shown, "every scan crossed the network once"
    looks = {
        (
            scan["status"],
            scan["wire_bytes"],
            tuple(sorted((k, v) for k, v in scan["headers"].items() if k not in VARIABLE_HEADERS)),
        )
        for scan in over_network
    }
    assert len(looks) == 1, f"scan responses differ: {sorted(looks)}"
    (status, wire_bytes, headers) = looks.pop()
    assert (status, dict(headers)["content-encoding"], int(dict(headers)["content-length"])) == (
        200,
        coding,
        wire_bytes,
    )
    assert len({sources[scan["name"]] for scan in over_network}) == 4

    bundle_nifti = {
        name: hashlib.sha256(gzip.decompress((bundle / f"volumes/{name}.nii.gz").read_bytes())).hexdigest()
        for name in shown
    }
    assert received == bundle_nifti, "each viewer was handed exactly the bundle's NIfTI"
