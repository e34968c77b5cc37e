"""The start-up check of nginx in front of the platform: over HTTP(S), the way a reader's browser reaches it.

Through nginx, the app must answer (/healthz), each internal /_accel/ location must send the probe file the app hands
it (exactly its bytes, the location's Content-Encoding, no X-Accel-Redirect leaking out, none of the headers that could
differ between files: ETag, Last-Modified, Accept-Ranges) and the collected static files must be there. Used by
`manage.py check_delivery` (the systemd unit runs it after start), the nginx test fixture and `python -m bench load`.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from contracts.serving import HEALTH_URL, PROBE_BYTES, PROBE_URL, STATIC_PROBE
from studies.delivery import CODINGS

PER_FILE_HEADERS = ("etag", "last-modified", "accept-ranges", "content-range")
"""Headers nginx must not send with a stored scan: each could differ between two files."""


def fetch(base: str, path: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """GET `path` of `base` with no content decoding; (status, lower-cased headers, body)."""
    parts = urlsplit(base)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "identity", "User-Agent": "check_delivery"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def delivery_problems(base: str) -> list[str]:
    """Everything wrong with the nginx in front of `base` (empty when it serves as it must); one sentence each."""
    try:
        status, _, body = fetch(base, HEALTH_URL)
    except OSError as error:
        return [f"{base} does not answer ({error}): is nginx running and listening there?"]
    if status != 200:
        return [
            f"{base}{HEALTH_URL} answered HTTP {status} ({body[:80]!r}): is an app host (gunicorn) up behind nginx?"
        ]
    problems = []
    for location in (*CODINGS, "media"):
        path = PROBE_URL.format(location=location)
        status, headers, body = fetch(base, path)
        if "x-accel-redirect" in headers:
            problems.append(
                f"{path}: X-Accel-Redirect reached the client: nginx is not in front of {base}, or it lacks the "
                "/_accel/ locations of deploy/nginx.conf.template"
            )
        elif status == 404:
            problems.append(
                f"{path}: nginx answered 404 for the probe file: its /_accel/{location}/ location must alias "
                "PLATFORM_DATA_DIR/studies/ (deploy/nginx.conf.template, --data-dir), readable by nginx's workers"
            )
        elif status == 409:
            problems.append(f"{path}: {body.decode(errors='replace').strip()} Set PLATFORM_X_ACCEL=true on every host.")
        elif status != 200 or body != PROBE_BYTES:
            problems.append(f"{path}: HTTP {status}, {len(body)} bytes instead of the {len(PROBE_BYTES)}-byte probe")
        else:
            expected = location if location in ("zstd", "gzip") else None
            if headers.get("content-encoding") != expected:
                problems.append(f"{path}: Content-Encoding {headers.get('content-encoding')!r}, not {expected!r}")
            leaking = [name for name in PER_FILE_HEADERS if name in headers] if location != "media" else []
            if leaking:
                problems.append(f"{path}: nginx sends {', '.join(leaking)}, which could differ between scans")
    status, _, _ = fetch(base, STATIC_PROBE)
    if status != 200:
        problems.append(
            f"{STATIC_PROBE}: HTTP {status}: run `manage.py collectstatic` into the static root nginx serves"
        )
    return problems


def delivery_problems_after(base: str, wait: float) -> list[str]:
    """`delivery_problems`, asked again every second for up to `wait` seconds while there are any (a server still
    starting, a loaded machine)."""
    deadline = time.monotonic() + wait
    while True:
        problems = delivery_problems(base)
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(1)
