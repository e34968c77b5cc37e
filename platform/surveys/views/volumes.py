"""Serving scans and the instruction video to the readers whose plan shows them, under opaque names only."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.views.decorators.http import require_GET

from contracts.serving import ACCEL_PREFIX
from studies.delivery import CODINGS
from surveys.access import finished_refusal, plan_volumes, reader_view
from surveys.models import Reader

logger = logging.getLogger(__name__)

CACHE_CONTROL = "private, max-age=31536000, immutable"
"""A volume's bytes never change under its name; only this reader's browser may keep them."""


@reader_view
@require_GET
def volume(request: HttpRequest, reader: Reader, token: str, name: str) -> HttpResponse:
    """The int16 NIfTI `name`.nii in the stored coding the browser decodes natively: zstd, else gzip, else plain.

    Every coding is a stored file of the study's one length for that coding, sent by the same code path, so neither
    the bytes, the headers nor the time to send them depend on the source (`studies.delivery`)."""
    if reader.is_locked:
        return finished_refusal(request)
    if name not in plan_volumes(reader):
        raise Http404
    stored = reader.study.volumes.filter(name=name).first()
    if stored is None:
        raise Http404
    coding = _coding(_accepted_codings(request.headers.get("Accept-Encoding", "")))
    if settings.PLATFORM_X_ACCEL:
        return accel_redirect(stored.served_path(coding), coding, reader)
    etag = f'"{stored.name}-{coding}"'  # one tag per representation
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        response = FileResponse(_open(stored.served_path(coding), reader), content_type="application/octet-stream")
        response.headers.pop("Content-Disposition", None)  # FileResponse would name the stored file
        if coding != "identity":
            response["Content-Encoding"] = coding
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _accepted_codings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header accepts: those listed without `q=0`, lower-cased."""
    codings = set()
    for item in header.split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        weights = [value for key, _, value in (p.partition("=") for p in parameters) if key.strip().lower() == "q"]
        try:
            accepted = not weights or float(weights[0]) > 0
        except ValueError:
            accepted = False
        if coding and accepted:
            codings.add(coding.lower())
    return codings


def _coding(accepted: set[str]) -> str:
    """The first of zstd, gzip that the client accepts; identity when it accepts neither."""
    return next((coding for coding in CODINGS if coding in accepted), "identity")


def accel_redirect(path: Path, location: str, reader: Reader | None = None) -> HttpResponse:
    """Hand the stored file `path` to nginx's internal `location` (a coding, or media): an empty response whose
    only header of its own is X-Accel-Redirect; nginx adds the headers, the same for every file of a location."""
    if not path.is_file():
        _missing(path, reader)
    relative = path.relative_to(settings.PLATFORM_DATA_DIR / "studies").as_posix()
    response = HttpResponse()
    del response["Content-Type"]
    response["X-Accel-Redirect"] = f"{ACCEL_PREFIX}{location}/{relative}"
    return response


def _missing(path: Path, reader: Reader | None) -> None:
    """Log a stored file that is not there for staff and answer 404 (never a server error)."""
    who = f"study {reader.study.slug}: " if reader else ""
    logger.error("%sstored file %s is missing; %s got 404", who, path, reader.label if reader else "the request")
    raise Http404


def _open(path: Path, reader: Reader) -> BinaryIO:
    """A stored file opened for reading; a missing one is logged for staff and answered 404 (never a server error)."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        _missing(path, reader)


@reader_view
@require_GET
def video(request: HttpRequest, reader: Reader, token: str, name: str) -> HttpResponse:
    """The study's instruction video, if it has one."""
    if reader.is_locked:
        return finished_refusal(request)
    if not reader.study.video or name != reader.study.video:
        raise Http404
    path = reader.study.data_dir / "media" / name
    if settings.PLATFORM_X_ACCEL:
        return accel_redirect(path, "media", reader)
    content_type = "video/webm" if name.endswith(".webm") else "video/mp4"
    response = FileResponse(_open(path, reader), content_type=content_type)
    response.headers.pop("Content-Disposition", None)
    response["Cache-Control"] = CACHE_CONTROL
    return response
