"""A reader page's first and repeat visit in Chromium: bytes by kind (page, static files, scans) and seconds to the
first CT slice, served as before (gunicorn alone, static files from WhiteNoise's finders under plain names) and as
deployed (nginx: collected static files under hashed names with brotli copies, immutable for a year; scans by
X-Accel-Redirect). Part of `python -m bench delivery`.

First visit: a new browser profile (empty cache, cache on). Repeat visit: the same page opened again in that profile
a few seconds later, as a reader coming back. Within a minute gunicorn alone is still answered from the cache
(WhiteNoise's max-age=60 on plain names); after that it asks again for each static file, which the Cache-Control
column shows.
"""

from __future__ import annotations

import statistics
import tempfile

VISIT = """() => {
  const kinds = {page: 0, static: 0, scans: 0}, entries = performance.getEntriesByType('resource');
  kinds.page = performance.getEntriesByType('navigation')[0].transferSize;
  let requests = 1;
  for (const e of entries) {
    if (e.name.includes('/static/')) { kinds.static += e.transferSize; }
    else if (e.name.includes('.nii') && e.startTime < window.__bench.painted[0]) { kinds.scans += e.transferSize; }
    else { continue; }
    requests += e.transferSize > 0 ? 1 : 0;
  }
  return {kinds, requests, first: window.__bench.painted[0] / 1000};
}"""
"""Bytes on the wire by kind (0 for what the cache answered), requests that reached the server, first-slice seconds;
scans fetched before the first slice are this page's (later ones are the next page's prefetch)."""


def visit_twice(browser, url: str, watch: str, chromium: str, args: list[str], viewport: dict) -> dict:
    """{"first": ..., "repeat": ...} of `url` (a task page with one scan) in a new on-disk profile."""
    with tempfile.TemporaryDirectory(prefix="bench-visits-") as profile:
        context = browser.browser_type.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=args, viewport=viewport
        )
        try:
            results, cache_control = {}, {}
            for visit in ("first", "repeat"):
                page = context.new_page()
                page.add_init_script(watch)
                page.on(
                    "response",
                    lambda response: (
                        cache_control.setdefault(
                            response.url.rsplit("/", 1)[-1], response.headers.get("cache-control", "none")
                        )
                        if "/static/" in response.url
                        else None
                    ),
                )
                page.goto(url, wait_until="commit")
                page.wait_for_function("window.__bench && window.__bench.painted[0]", timeout=180_000, polling=50)
                results[visit] = page.evaluate(VISIT)
                page.close()
            results["cache_control"] = cache_control
            return results
        finally:
            context.close()


def table(runs: dict[str, list[dict]], labels: dict[str, str]) -> str:
    """Medians per serving and visit; the Cache-Control of the largest static file (papaya.js) per serving."""
    lines = [
        "Reader page (recognition, 1 scan), first and repeat visit in Chromium: KB on the wire by kind (median), "
        "requests that reached the server, seconds to the first slice",
        f"{'serving':<58} {'visit':<7} {'page KB':>7} {'static KB':>9} {'scans KB':>8} {'requests':>8} "
        f"{'first slice s':>13}",
    ]
    for key, measured in runs.items():
        for visit in ("first", "repeat"):
            values = [run[visit] for run in measured]
            kb = {
                kind: statistics.median(v["kinds"][kind] for v in values) / 1e3 for kind in ("page", "static", "scans")
            }
            lines.append(
                f"{labels[key]:<58} {visit:<7} {kb['page']:>7.1f} {kb['static']:>9.1f} {kb['scans']:>8.1f} "
                f"{statistics.median(v['requests'] for v in values):>8.0f} "
                f"{statistics.median(v['first'] for v in values):>13.2f}"
            )
    for key, measured in runs.items():
        papaya = next(
            (v for k, v in measured[0]["cache_control"].items() if k.startswith("papaya") and k.endswith(".js")), "?"
        )
        lines.append(f"  {labels[key]}: papaya.js Cache-Control: {papaya}")
    return "\n".join(lines)
