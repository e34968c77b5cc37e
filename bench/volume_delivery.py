"""Volume delivery: page load to first rendered slice of a 256³ CT in headless Chromium, naive against the platform.

Both ways show the same bytes in the same Papaya build (node_modules/papaya-viewer/release/current/standard) with the
same viewer parameters and page layout; only the delivery differs:

- naive: a static page (Python's http.server on 127.0.0.1) serving the bundle's `NAME.nii.gz` as a plain file
  (gzip level 1, as `python -m studies build` writes it); Papaya inflates it in JavaScript (its bundled pako);
- platform: the reader's real task page and volume view under gunicorn on 127.0.0.1, under `NAME.nii`, decoded
  natively by the browser so that Papaya reads raw int16 NIfTI: the import's zstd copy (level 3, padded to the
  study's largest) with `Content-Encoding: zstd` for Chromium's own Accept-Encoding (it lists zstd, on
  http://127.0.0.1 too), and the import's gzip copy (level 6, padded likewise) with `Content-Encoding: gzip` when the
  page's requests send `Accept-Encoding: gzip, deflate` (DevTools' extra headers), as a browser without zstd does;
  each run checks which encoding came back;
- references (static files, for "whatever measures best"): the uncompressed NIfTI with no compression at all (what
  any delivery that ends in Papaya reading raw int16 costs at best on loopback), and the same raw NIfTI compressed by
  zstd -3 and sent with `Content-Encoding: zstd` by Python's http.server (needs the `zstd` command).

Pages: the recognition page (one scan) and the four-scan ranking page (the platform's, against a static page with
four viewers loaded one after the other as the platform's viewer.js does). "First slice" is the time from navigation
start until the first viewer has called Papaya's `loadingComplete` *and* its canvas shows a CT slice (more than 16
grey levels); "all scans" is the same for the last viewer. Each run uses a fresh browser context with the cache
disabled: a reader's first page. "Next page" rows are what a reader meets on every later page: in a fresh context
with the cache on, the previous task's page is shown until its viewers are ready (and, on the platform, until the
browser has prefetched the next page's scans), then the next task's page is measured; the naive pages have
papaya.js cached as well, but their scans come over the network. Runs of the different ways alternate, after one
discarded warm-up run of each. "First task, after welcome" is a new reader's first task page as the platform gives
it: the welcome page is shown until the browser has prefetched task 1's scan, then "Start the study" is clicked and
the time runs from that click (a fresh reader each run; the naive row is the cold first page: a static site has no
welcome page to prefetch from). The table gives medians and the ratio naive / way (the issue's target: at least 3).

Inputs are made in the work folder: 4 procedural phantoms (`python -m generator phantoms`, realistic CT noise),
rendered as four sources that compress differently (the phantom, Gaussian-smoothed by 0.6 and 1.2 voxels, 4×
down-sampled), and a bundle (`python -m studies build`). After the table: what padding costs per source and coding,
how long the import took, each source's time to first and last byte of its scans (plain HTTP client), and a reader
page's first and repeat visit, bytes by kind and time, gunicorn alone against nginx as deployed (bench/page_visits.py).
`--mbit N` throttles downloads to N Mbit/s (Chrome's network emulation) to see a remote reader's link instead of
loopback. Run: `python -m bench delivery [--repeats 5] [--size 256] [--work DIR] [--mbit N] [--timing-rounds 20]`.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.client
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):  # run as a script: `python bench/volume_delivery.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.platform_server import (
    ROOT,
    Client,
    Gunicorn,
    answer_payload,
    free_port,
    manage,
    platform_environment,
    set_up_study,
    start_reader,
    task_page_data,
)
from generator.data.anatomy import spacing_for

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1600, "height": 1000}
PAPAYA = ROOT / "node_modules" / "papaya-viewer" / "release" / "current" / "standard"
SLUG = "bench-delivery"
LUNG = (-1350, 150)  # the lung preset (W 1500 / L -600) as Papaya's min/max, as viewer.js sets it

WATCH = """
(() => {
  const state = window.__bench = {loaded: [], painted: [], canvas: []};
  function greyLevels(canvas) {  // distinct grey values in a sample of pixels: a CT slice has many, a blank canvas 1
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length && seen.size <= 16; i += 4 * 13) {
      if (d[i] === d[i + 1] && d[i] === d[i + 2]) seen.add(d[i]);
    }
    return seen.size;
  }
  function waitForSlice(scan, index) {
    const canvas = scan.querySelector('canvas');
    if (canvas && canvas.width && greyLevels(canvas) > 16) {
      state.painted[index] = performance.now();
      state.canvas[index] = [canvas.width, canvas.height];
    } else {
      requestAnimationFrame(() => waitForSlice(scan, index));
    }
  }
  new MutationObserver(records => {  // both pages mark a .scan "loaded" in Papaya's loadingComplete callback
    for (const record of records) {
      const scan = record.target;
      if (!scan.classList || !scan.classList.contains('scan') || !scan.classList.contains('loaded')) continue;
      const index = Array.prototype.indexOf.call(document.querySelectorAll('.scan'), scan);
      if (state.loaded[index] === undefined) { state.loaded[index] = performance.now(); waitForSlice(scan, index); }
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['class']});
})();
"""

NAIVE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>naive</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="reader.css"><link rel="stylesheet" href="papaya.css"></head>
<body class="task"><main>{body}</main>
<script src="papaya.js"></script>
<script>
/* The platform's viewer.js loading loop, without its tools: one viewer after the other on Papaya's loadingComplete. */
var files = {files};
function load(index) {{
  if (index >= files.length) {{ document.body.dataset.viewersReady = "true"; return; }}
  var params = {{images: [files[index]], kioskMode: true, showControlBar: false, showControls: false,
    showImageButtons: false, expandable: false, orthogonal: true, mainView: "axial", showOrientation: true,
    radiological: true, noNewFiles: true, allowScroll: true}};
  params[files[index]] = {{min: {low}, max: {high}}};
  params.loadingComplete = function () {{
    document.querySelectorAll(".scan")[index].classList.add("loaded");
    window.setTimeout(function () {{ load(index + 1); }}, 0);
  }};
  papaya.Container.addViewer("viewer-" + index, params);
}}
window.addEventListener("load", function () {{ load(0); }});
</script></body></html>
"""
ONE_SCAN = (
    '<div class="task-layout"><section class="viewers one"><div class="tools" style="height:38px"></div>'
    '<div class="scan"><div class="viewer-host" id="viewer-0"></div><div class="scan-tools">'
    '<button type="button">Swap main view</button></div></div></section><form class="answer-panel">'
    "<h1>Which finding does this scan show?</h1></form></div>"
)
FOUR_SCANS = (
    '<h1 class="ranking-question">Rank the scans</h1><div class="tools" style="height:38px"></div>'
    '<section class="viewers grid">{}</section>'
)
SCAN = (
    '<div class="scan"><div class="scan-head"><span class="scan-letter">Scan</span>'
    '<button type="button">Swap main view</button></div><div class="viewer-host" id="viewer-{}"></div></div>'
)


RECOGNITION = '[recognition]\nvolumes = ["scan-0", "scan-1"]\n'
SOURCES = ("phantom", "smoothed-lightly", "smoothed", "low-resolution")
"""The four sources of the ranking set, from the most to the least noisy: a phantom, and three renderings of other
phantoms (Gaussian σ 0.6 and 1.2 voxels, 4× down-sampled): unpadded, they compress to four different sizes."""


def rendered(ct, source: str):
    """A phantom CT (HU) as `source` renders it."""
    from scipy import ndimage

    from demo.manifest import rendering

    if source == "smoothed-lightly":
        return ndimage.gaussian_filter(ct.astype("float32"), 0.6)
    return ct if source == "phantom" else rendering(ct, source)


def make_bundle(work: Path, size: int) -> Path:
    """Four procedural phantoms, rendered as the four sources, and their blinded bundle (two recognition scans, one
    ranking set), made once per work folder."""
    bundle = work / "bundle"
    if (bundle / "study.json").exists() and SOURCES[-1] in (work / "study.toml").read_text():
        return bundle
    shutil.rmtree(bundle, ignore_errors=True)  # the bundle of this benchmark's earlier study (four alike phantoms)
    phantoms = work / "phantoms"
    if not (phantoms / "case-0003" / "ct.nii.gz").exists():
        print(f"making 4 procedural phantoms at {size}³ …", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "generator",
                "phantoms",
                "--out",
                str(phantoms),
                "--n",
                "4",
                "--size",
                str(size),
                "--seed",
                "11",
            ],
            cwd=ROOT,
            check=True,
            stderr=subprocess.DEVNULL,
        )
    import nibabel as nib
    import numpy as np

    (work / "scans").mkdir(exist_ok=True)
    for i, source in enumerate(SOURCES):
        image = nib.load(phantoms / f"case-{i:04d}" / "ct.nii.gz")
        hu = np.round(rendered(np.asarray(image.dataobj), source)).astype(np.int16)
        nib.save(nib.Nifti1Image(hu, image.affine), work / "scans" / f"scan-{i}.nii.gz")
    volumes = "\n".join(
        f'[[volume]]\nid = "scan-{i}"\nfile = "scans/scan-{i}.nii.gz"\nsource = "{source}"\n'
        + ('finding = "Consolidation"\n' if i < 2 else "")
        for i, source in enumerate(SOURCES)
    )
    (work / "study.toml").write_text(
        f'[study]\ntitle = "Volume delivery benchmark"\nslug = "{SLUG}"\nseed = 1\nshape = [{size}, {size}, {size}]\n'
        f"spacing = {spacing_for(size)}\n\n{volumes}\n{RECOGNITION}\n"
        '[[ranking]]\nstructure = "lobes and fissures"\nvolumes = ["scan-0", "scan-1", "scan-2", "scan-3"]\n'
    )
    print("building the study bundle …", flush=True)
    subprocess.run(
        [sys.executable, "-m", "studies", "build", str(work / "study.toml"), "--out", str(bundle)],
        cwd=ROOT,
        check=True,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    return bundle


def padding_cost(bundle: Path) -> str:
    """Per source: each coding's unpadded size against the one size every volume is served with."""
    from studies.delivery import compress, served_lengths

    study = json.loads((bundle / "study.json").read_text())
    sizes = {}
    for volume in study["volumes"]:
        parts, _ = compress(gzip.decompress((bundle / volume["file"]).read_bytes()))
        sizes[volume["source"]] = {coding: len(stream) for coding, stream in parts.items()}
    served = served_lengths(sizes.values())
    lines = ["Padding: unpadded size of each source's scan → the one size all are served with (MB)"]
    for coding in ("zstd", "gzip"):
        cells = ", ".join(f"{source} {size[coding] / 1e6:.2f}" for source, size in sizes.items())
        total = sum(served[coding] - size[coding] for size in sizes.values())
        unpadded = sum(size[coding] for size in sizes.values())
        lines.append(
            f"  {coding}: {cells} → {served[coding] / 1e6:.2f} each "
            f"(+{total / 1e6:.2f} MB, +{100 * total / unpadded:.0f} % over the four)"
        )
    return "\n".join(lines)


def response_times(base: str, token: str, bundle: Path, repeats: int) -> str:
    """Time to first byte and to the last byte of every scan, by source and coding, over `repeats` rounds (each
    round visits the scans in a new order)."""
    import random

    study = json.loads((bundle / "study.json").read_text())
    sources = {volume["name"]: volume["source"] for volume in study["volumes"]}
    host, port = base.rsplit("/", 1)[-1].split(":")
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    lengths: dict[str, set[int]] = {}
    order = random.Random(0)
    for _ in range(repeats):
        for coding in ("zstd", "gzip"):
            names = list(sources)
            order.shuffle(names)
            for name in names:
                connection = http.client.HTTPConnection(host, int(port), timeout=60)
                start = time.perf_counter()
                connection.request("GET", f"/r/{token}/scan/{name}.nii", headers={"Accept-Encoding": coding})
                response = connection.getresponse()
                first = time.perf_counter()
                body = response.read()
                end = time.perf_counter()
                connection.close()
                if response.status != 200 or response.getheader("Content-Encoding") != coding:
                    raise RuntimeError(f"scan {name}: HTTP {response.status}, {response.getheader('Content-Encoding')}")
                times.setdefault((sources[name], coding), []).append((first - start, end - start))
                lengths.setdefault(coding, set()).add(len(body))
    lines = [
        f"Response time by source (gunicorn on 127.0.0.1, plain HTTP client, {repeats} rounds in shuffled order): "
        "median ms to the first byte / to the last byte (interquartile range of the last byte)"
    ]
    for coding in ("zstd", "gzip"):
        cells = []
        for (source, seen), runs in sorted(times.items()):
            if seen == coding:
                last = statistics.quantiles([1000 * t for _, t in runs], n=4)
                cells.append(
                    f"{source} {1000 * statistics.median(t for t, _ in runs):.1f} / "
                    f"{1000 * statistics.median(t for _, t in runs):.1f} ({last[0]:.1f}–{last[2]:.1f})"
                )
        cells = ", ".join(cells)
        lines.append(
            f"  {coding} (first byte / last byte): {cells}; bytes sent: {', '.join(map(str, sorted(lengths[coding])))}"
        )
    return "\n".join(lines)


def reader_pages(client: Client, token: str) -> list[tuple[str, str, list[str]]]:
    """Start the reader and answer every task (so every page is reachable); [(kind, task page path, scan names)] in
    the reader's order."""
    status, page = start_reader(client, token)
    pages: list[tuple[str, str, list[str]]] = []
    number = 1
    while status == 200 and b'id="task-data"' in page:
        task, csrf, names = task_page_data(page)
        pages.append((task["kind"], f"/r/{token}/task/{number}/", names))
        status, _, reply = client.post_json(f"/r/{token}/answer", answer_payload(task, names, 0), csrf)
        if status != 200:
            raise RuntimeError(f"answer refused ({status}): {reply[:200]!r}")
        number += 1
        status, _, page = client.get(f"/r/{token}/task/{number}/")
    return pages


def naive_site(
    folder: Path, bundle: Path, pages: list[tuple[str, str, list[str]]], ways: set[str]
) -> dict[tuple[str, int], str]:
    """Static pages showing each platform page's scans as plain `.nii.gz` (naive), plain raw `.nii` (raw) and raw
    `.zst.nii` served with Content-Encoding: zstd (zstd); {(way, page index): path}."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in (
        ("papaya.js", PAPAYA / "papaya.js"),
        ("papaya.css", PAPAYA / "papaya.css"),
        ("reader.css", ROOT / "static" / "surveys" / "reader.css"),
    ):
        shutil.copyfile(source, folder / name)
    for names in (names for _, _, names in pages):
        for name in names:
            gz = folder / f"{name}.nii.gz"
            if not gz.exists():
                os.symlink(bundle / "volumes" / f"{name}.nii.gz", gz)
            raw = folder / f"{name}.nii"
            if not raw.exists():
                with gzip.open(bundle / "volumes" / f"{name}.nii.gz", "rb") as stream, raw.open("wb") as out:
                    shutil.copyfileobj(stream, out, 1 << 20)
            if "zstd" in ways and not (folder / f"{name}.zst.nii").exists():
                subprocess.run(["zstd", "-q", "-3", str(raw), "-o", str(folder / f"{name}.zst.nii")], check=True)
    paths = {}
    for index, (_, _, names) in enumerate(pages):
        for way, suffix in (("naive", ".nii.gz"), ("raw", ".nii"), ("zstd", ".zst.nii")):
            if way not in ways:
                continue
            files = [name + suffix for name in names]
            body = (
                ONE_SCAN if len(files) == 1 else FOUR_SCANS.format("".join(SCAN.format(i) for i in range(len(files))))
            )
            page = folder / f"{way}-{index + 1}.html"
            page.write_text(NAIVE_PAGE.format(body=body, files=json.dumps(files), low=LUNG[0], high=LUNG[1]))
            paths[(way, index)] = "/" + page.name
    return paths


@contextmanager
def static_server(folder: Path):
    """Python's http.server on 127.0.0.1 serving `folder` (plain files: `.gz` as application/gzip, no
    Content-Encoding).
    """
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Plain files, except `.zst.nii`: raw NIfTI compressed by zstd, sent with Content-Encoding: zstd."""

    def end_headers(self):
        if self.path.endswith(".zst.nii"):
            self.send_header("Content-Encoding", "zstd")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


PREVIOUS_DONE = (
    "(document.body.dataset.viewersReady === 'true' || !document.querySelector('.scan')) && "
    "(!document.getElementById('upcoming-scans') || document.body.dataset.prefetched === 'true')"
)
"""True on a previous page once its viewers (if any) are ready and (platform pages) the next page's scans are
prefetched."""


START = "Start the study"
"""In place of a page's URL: the page that the welcome page's start button leads to."""


def measure(
    browser,
    url: str,
    scans: int,
    mbit: float | None = None,
    accept_encoding: str | None = None,
    previous: str | None = None,
) -> dict:
    """One page load in a fresh context (the download throttled to `mbit` Mbit/s and the requests' Accept-Encoding
    replaced, if given): seconds to first slice, to all slices, bytes received, and the Content-Encodings of the
    volumes. Without `previous` the cache is disabled; with it, the cache is on and the page at `previous` is shown
    first, until it is done (PREVIOUS_DONE); `url` START then clicks the welcome page's start button. Runs with a
    cache get a fresh profile on disk, as a reader's browser has: the in-memory cache of Playwright's incognito
    contexts does not keep responses of this size."""
    profile = tempfile.TemporaryDirectory(prefix="bench-profile-") if previous else None
    context = (
        browser.browser_type.launch_persistent_context(
            profile.name, executable_path=CHROMIUM, headless=True, args=ARGS, viewport=VIEWPORT
        )
        if profile
        else browser.new_context(viewport=VIEWPORT)
    )
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": previous is None})
        if mbit:
            cdp.send(
                "Network.emulateNetworkConditions",
                {"offline": False, "latency": 0, "downloadThroughput": mbit * 1e6 / 8, "uploadThroughput": -1},
            )
        if accept_encoding:
            cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": accept_encoding}})
        errors: list[str] = []
        codings: set[str] = set()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "response",
            lambda response: (
                codings.add(response.headers.get("content-encoding", "none"))
                if ".nii" in response.url and response.request.resource_type == "fetch"
                else None
            ),
        )
        page.add_init_script(WATCH)
        if previous:
            page.goto(previous, wait_until="commit")
            page.wait_for_function(PREVIOUS_DONE, timeout=180_000, polling=50)
            codings.clear()
        if url == START:
            page.click(f"text={START}", no_wait_after=True)
        else:
            page.goto(url, wait_until="commit")
        page.wait_for_function(
            f"window.__bench && window.__bench.painted.filter(x => x).length >= {scans}", timeout=180_000, polling=50
        )
        if errors:
            raise RuntimeError(f"{url}: {errors}")
        state = page.evaluate("""() => {
          const scans = () => performance.getEntriesByType('resource')  // the page's own, not those it prefetches
              .filter(e => e.name.includes('.nii') && ['fetch', 'xmlhttprequest'].includes(e.initiatorType));
          return {
            painted: window.__bench.painted, loaded: window.__bench.loaded, canvas: window.__bench.canvas,
            bytes: scans().reduce((sum, e) => sum + e.transferSize, 0),
            steps: {
                html: performance.getEntriesByType('navigation')[0].responseEnd,
                papaya_js: (performance.getEntriesByType('resource')
                    .find(e => e.name.endsWith('papaya.js')) || {}).responseEnd,
                window_load: performance.getEntriesByType('navigation')[0].loadEventStart,
                volume_start: (scans()[0] || {}).startTime,
                volume_end: (scans()[0] || {}).responseEnd}};
        }""")
    finally:
        context.close()
        if profile:
            profile.cleanup()
    return {
        "first": state["painted"][0] / 1000,
        "all": max(state["painted"]) / 1000,
        "bytes": state["bytes"],
        "canvas": state["canvas"][0],
        "loaded_first": state["loaded"][0] / 1000,
        "codings": codings,
        "steps": {name: round(value / 1000, 3) for name, value in state["steps"].items() if value is not None},
    }


PAGES = {
    "first-task": "first task, after welcome",
    "recognition": "recognition (1 scan)",
    "ranking": "ranking (4 scans)",
    "next-recognition": "next page, 1 scan",
    "next-ranking": "next page, 4 scans",
}
"""The measured pages: the first page of each kind, and the next page of each kind after the task before it."""
WAYS = {
    "naive": "naive .nii.gz, Papaya inflates in JS",
    "platform": "platform view, Content-Encoding: zstd",
    "platform-gzip": "platform view, Content-Encoding: gzip",
    "raw": "static raw .nii, no compression (ref.)",
    "zstd": "static .nii, Content-Encoding: zstd (ref.)",
}
NEXT_PAGE_WAYS = ("naive", "platform", "platform-gzip")
"""The ways measured on next pages (the static references have nothing to prefetch with)."""
PLATFORM_WAYS = {"platform": (None, "zstd"), "platform-gzip": ("gzip, deflate", "gzip")}
"""The platform's ways: (Accept-Encoding the page's requests send instead of Chromium's own, expected encoding)."""


Url = str | tuple[str, str] | Callable[[], str | tuple[str, str]]


def measured_pages(pages: list[tuple[str, str, list[str]]]) -> list[tuple[str, int, int | None]]:
    """[(PAGES key, index of the page, index of the page shown before it or None)]: the first page of each kind,
    and the first page of each kind that follows another task."""
    chosen = []
    for kind in ("recognition", "ranking"):
        indices = [i for i, (k, _, _) in enumerate(pages) if k == kind]
        chosen.append((kind, indices[0], None))
        following = [i for i in indices if i > 0]
        if following:
            chosen.append((f"next-{kind}", following[0], following[0] - 1))
    return chosen


def measure_way(browser, key: str, url: Url, scans: int, mbit: float | None) -> dict:
    """`measure` of way/page `key` (url: the page, (previous page, page), or a function giving a fresh one of these
    for each run), with the platform's ways' Accept-Encoding, checking the encoding they got."""
    accept_encoding, expected = PLATFORM_WAYS.get(key.split("/")[0], (None, None))
    url = url() if callable(url) else url
    previous, url = url if isinstance(url, tuple) else (None, url)
    result = measure(browser, url, scans, mbit, accept_encoding, previous)
    if expected and result["codings"] != {expected}:
        raise RuntimeError(f"{key}: the volumes came with Content-Encoding {sorted(result['codings'])}, not {expected}")
    return result


def run(
    browser, urls: dict[str, Url], scans: dict[str, int], repeats: int, mbit: float | None
) -> dict[str, list[dict]]:
    """Warm up each url once, then `repeats` alternating rounds; {way/page: [measurements]}."""
    for key, url in urls.items():
        measure_way(browser, key, url, scans[key], mbit)
    results: dict[str, list[dict]] = {key: [] for key in urls}
    for round_number in range(repeats):
        for key, url in urls.items():
            results[key].append(measure_way(browser, key, url, scans[key], mbit))
        print(f"  round {round_number + 1}/{repeats} done", file=sys.stderr, flush=True)
    return results


def table(results: dict[str, list[dict]], raw_mb: float, repeats: int, version: str, mbit: float | None) -> str:
    """The printed table: medians per page and way, ratio naive / way."""
    link = f"downloads throttled to {mbit:g} Mbit/s" if mbit else "full loopback speed"
    lines = [
        f"Volume delivery: {raw_mb:.1f} MB int16 CT per scan (256³ phantom with CT noise), {version} headless, "
        f"127.0.0.1 ({link}); median of {repeats} fresh contexts, cache disabled",
        f"{'page':<21} {'way':<42} {'MB sent':>7} {'page ready':>10} {'1st volume':>10} {'first slice':>11} "
        f"{'all scans':>9} {'naive/this':>10}",
    ]
    for kind, label in PAGES.items():
        baseline = results.get(f"naive/{kind}")
        if not baseline:
            continue
        base = statistics.median(r["all"] for r in baseline)
        for way in WAYS:
            runs = results.get(f"{way}/{kind}")
            if not runs:
                continue
            first = statistics.median(r["first"] for r in runs)
            every = statistics.median(r["all"] for r in runs)
            sent = statistics.median(r["bytes"] for r in runs) / 1e6
            ready = statistics.median(r["steps"]["window_load"] for r in runs)
            volume = statistics.median(r["steps"]["volume_end"] for r in runs)
            spread = f"({min(r['all'] for r in runs):.2f}–{max(r['all'] for r in runs):.2f})"
            lines.append(
                f"{label:<21} {WAYS[way]:<42} {sent:>7.1f} {ready:>10.2f} {volume:>10.2f} {first:>11.2f} "
                f"{every:>9.2f} {base / every:>9.2f}×  {spread}"
            )
    lines += [
        "first page: a fresh browser, cache disabled; next page: the previous task's page was shown until it was "
        "done (platform: the next page's scans prefetched), cache on.",
        "seconds from navigation start: page ready = window load event (papaya.js parsed; the viewers start "
        "loading), 1st volume = first volume received and decoded by the network stack, first slice / all "
        "scans = Papaya's loadingComplete and a CT slice on the canvas of the first / last viewer.",
        "naive/this = naive median / this median of 'all scans' (= first slice for one scan); "
        "(min–max) of 'all scans'; MB sent = bytes of the page's scans on the wire (0 when the cache answered).",
    ]
    return "\n".join(lines)


def reader_page_visits(env: dict[str, str], run_dir: Path, old_url: str, path: str, repeats: int) -> str:
    """`bench.page_visits` of the task page `path`: gunicorn alone at `old_url` against nginx in front of a deployed
    app host (static files collected here), alternating, `repeats` times each."""
    from playwright.sync_api import sync_playwright

    from bench.page_visits import table, visit_twice
    from deploy.nginx import Nginx, nginx_binary

    if nginx_binary() is None:
        return "Reader page visits: skipped, nginx is not installed (Debian: apt-get install nginx)"
    static = run_dir / "collected"
    manage({**env, "DJANGO_STATIC_ROOT": str(static)}, "collectstatic", "--noinput", "-v", "0")
    deployed = {**env, "PLATFORM_X_ACCEL": "true", "DJANGO_STATIC_ROOT": str(static)}
    app = Gunicorn(deployed, free_port(), workers=2, logs=run_dir / "logs-deployed", threads=4)
    with app, Nginx(run_dir / "nginx", free_port(), [f"127.0.0.1:{app.port}"], static, run_dir / "data") as nginx:
        urls = {"gunicorn": old_url + path, "nginx": nginx.url + path}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                runs: dict[str, list[dict]] = {key: [] for key in urls}
                for _ in range(repeats):
                    for key, url in urls.items():
                        runs[key].append(visit_twice(browser, url, WATCH, CHROMIUM, ARGS, VIEWPORT))
            finally:
                browser.close()
    return table(
        runs,
        {
            "gunicorn": "gunicorn alone, static from the finders (before)",
            "nginx": "nginx: hashed, brotli, immutable static; X-Accel scans",
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench delivery", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="measured runs of each way and page (default 5)")
    parser.add_argument("--size", type=int, default=256, help="phantom grid size (default 256)")
    parser.add_argument(
        "--work", type=Path, help="keep phantoms and bundle here for re-runs (default: a temporary folder)"
    )
    parser.add_argument(
        "--mbit",
        type=float,
        help="throttle each page's downloads to this many Mbit/s (Chrome "
        "DevTools' network emulation), as on a hospital link",
    )
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="leave out the reference rows (static raw .nii; zstd Content-Encoding)",
    )
    parser.add_argument(
        "--timing-rounds", type=int, default=20, help="rounds of the response-time-by-source measurement (default 20)"
    )
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        sys.exit(f"bench delivery: Debian's Chromium is not at {CHROMIUM} (apt-get install chromium)")
    if not (PAPAYA / "papaya.js").exists():
        sys.exit("bench delivery: Papaya is missing; run `make setup` (npm ci)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as temporary:
        work = (args.work or Path(temporary)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        bundle = make_bundle(work, args.size)
        run_dir = Path(temporary) / "run"
        port = free_port()
        env = platform_environment(run_dir / "data", port)
        imported = time.perf_counter()
        token, *new_readers = set_up_study(env, bundle, SLUG, 1 + len(PLATFORM_WAYS) * (args.repeats + 1))
        imported = time.perf_counter() - imported
        fresh = iter(new_readers)  # one reader per "first task, after welcome" run: starting changes a reader
        with Gunicorn(env, port, workers=2, logs=run_dir / "logs") as server:
            client = Client(server.url)
            pages = reader_pages(client, token)
            ways = {"naive", *PLATFORM_WAYS}
            if not args.no_reference:
                ways |= {"raw", "zstd"} if shutil.which("zstd") else {"raw"}
            naive_paths = naive_site(run_dir / "static", bundle, pages, ways)
            raw_mb = (run_dir / "static" / f"{pages[0][2][0]}.nii").stat().st_size / 1e6
            with static_server(run_dir / "static") as static_url, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

                def url(way: str, index: int) -> str:
                    return (
                        server.url + pages[index][1] if way in PLATFORM_WAYS else static_url + naive_paths[(way, index)]
                    )

                urls, scans = {}, {}
                for page, index, previous in measured_pages(pages):
                    for way in (way for way in WAYS if way in ways and (previous is None or way in NEXT_PAGE_WAYS)):
                        key = f"{way}/{page}"
                        urls[key] = url(way, index) if previous is None else (url(way, previous), url(way, index))
                        scans[key] = len(pages[index][2])
                for way in NEXT_PAGE_WAYS:
                    key = f"{way}/first-task"
                    urls[key] = (
                        (lambda: (f"{server.url}/r/{next(fresh)}/", START))
                        if way in PLATFORM_WAYS
                        else static_url + naive_paths[(way, 0)]
                    )
                    scans[key] = len(pages[0][2])
                print(
                    f"measuring {len(urls)} page/way pairs × {args.repeats} (+1 warm-up) …", file=sys.stderr, flush=True
                )
                try:
                    results = run(browser, urls, scans, args.repeats, args.mbit)
                    version = f"Chromium {browser.version}"
                finally:
                    browser.close()
            timing = response_times(server.url, token, bundle, args.timing_rounds)
            recognition = next(path for kind, path, _ in pages if kind == "recognition")
            visits = reader_page_visits(env, run_dir, server.url, recognition, args.repeats)
            statuses = server.access_statuses()
    print(table(results, raw_mb, args.repeats, version, args.mbit))
    print(padding_cost(bundle))
    print(f"Migrate, import (read, compress, pad, audit the served copies) and invite: {imported:.1f} s")
    print(timing)
    print(visits)
    canvases = {key: runs[0]["canvas"] for key, runs in results.items()}
    print("first viewer's canvas (px): " + ", ".join(f"{key} {w}×{h}" for key, (w, h) in canvases.items()))
    errors = {status: count for status, count in statuses.items() if status.startswith("5")}
    print(f"platform responses by status: {dict(sorted(statuses.items()))}" + (" — SERVER ERRORS" if errors else ""))


if __name__ == "__main__":
    main()
