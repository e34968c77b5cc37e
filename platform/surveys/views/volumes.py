"""Serving scans and the instruction video to the readers whose plan shows them, under opaque names only."""
from __future__ import annotations

import gzip

from pathlib import Path
from typing import Iterator

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from surveys.access import plan_volumes, reader_view
from surveys.models import Reader

CACHE_CONTROL = "private, max-age=31536000, immutable"
"""A volume's bytes never change under its name; only this reader's browser may keep them."""


@reader_view
@require_GET
def volume(request: HttpRequest, reader: Reader, token: str, name: str) -> HttpResponse:
    """The int16 NIfTI `name`.nii: the stored gzip stream with Content-Encoding: gzip (the browser inflates it natively)."""
    if name not in plan_volumes(reader):
        raise Http404
    stored = reader.study.volumes.filter(name=name).first()
    if stored is None:
        raise Http404
    accepts_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    etag = f'"{stored.name}-gzip"' if accepts_gzip else f'"{stored.name}"'  # one tag per representation
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    elif accepts_gzip:
        response = FileResponse(stored.gzip_path.open("rb"), content_type="application/octet-stream")
        response["Content-Encoding"] = "gzip"
        response["Content-Length"] = str(stored.gzip_path.stat().st_size)
    else:
        # Not a FileResponse: servers would sendfile() the compressed bytes underneath a GzipFile.
        response = StreamingHttpResponse(_inflated(stored.gzip_path), content_type="application/octet-stream")
        response["Content-Length"] = str(stored.raw_bytes)
    response.headers.pop("Content-Disposition", None)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _inflated(path: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The uncompressed bytes of a stored gzip stream, a chunk at a time (for clients that do not accept gzip)."""
    with gzip.open(path, "rb") as stream:
        while block := stream.read(chunk):
            yield block


@reader_view
@require_GET
def video(request: HttpRequest, reader: Reader, token: str, name: str) -> HttpResponse:
    """The study's instruction video, if it has one."""
    if not reader.study.video or name != reader.study.video:
        raise Http404
    path = reader.study.data_dir / "media" / name
    content_type = "video/webm" if name.endswith(".webm") else "video/mp4"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response.headers.pop("Content-Disposition", None)
    response["Cache-Control"] = CACHE_CONTROL
    return response
