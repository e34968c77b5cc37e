"""Probes: is this app host up with its database (load balancers), and does nginx serve the stored files it is
handed (`manage.py check_delivery`, run at start)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from contracts.serving import PROBE_BYTES, PROBE_PATH
from studies.delivery import CODINGS
from surveys.views.volumes import accel_redirect

NO_STORE = {"Cache-Control": "no-store"}
OFF = "PLATFORM_X_ACCEL is off on this app host: it sends scans itself instead of handing them to nginx.\n"


def probe_path() -> Path:
    """The probe file nginx must be able to send from each of its /_accel/ locations."""
    return settings.PLATFORM_DATA_DIR / "studies" / PROBE_PATH


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """200 when this host answers and reaches its database (a lost database answers 503: surveys.unavailable)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok\n", content_type="text/plain", headers=NO_STORE)


@require_GET
def delivery_probe(request: HttpRequest, location: str) -> HttpResponse:
    """The probe file through nginx's internal `location` (a content coding or media); 409 when PLATFORM_X_ACCEL is
    off on this host (it sends files itself, so nothing would reach nginx's locations)."""
    if location not in (*CODINGS, "media"):
        raise Http404
    path = probe_path()
    if not path.is_file() or path.read_bytes() != PROBE_BYTES:
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f"probe.{os.getpid()}")
        staged.write_bytes(PROBE_BYTES)
        staged.replace(path)  # atomic: app hosts sharing the data folder may write it at once
    if settings.PLATFORM_X_ACCEL:
        return accel_redirect(path, location)
    return HttpResponse(OFF, content_type="text/plain", status=409, headers=NO_STORE)
