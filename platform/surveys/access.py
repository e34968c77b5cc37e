"""Who may see what: the invitation token in the URL decides, and forged, revoked or closed links never reach a view."""

from __future__ import annotations

from functools import wraps
from typing import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from surveys.models import Reader, Study
from surveys.tokens import hash_token


def reader_view(view: Callable) -> Callable:
    """Resolve the URL's token to its reader: 404 when unknown; 403 when revoked, or when the study is not open and
    the reader has not finished (a finished reader's link keeps showing the thank-you page; the views see to that)."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        reader = Reader.objects.select_related("study").filter(token_hash=hash_token(token)).first()
        if reader is None:
            return render(
                request,
                "surveys/refused.html",
                {"message": "This link is not valid. Please check that you copied all of it."},
                status=404,
            )
        if reader.revoked_at is not None:
            return render(
                request,
                "surveys/refused.html",
                {"message": "This invitation has been withdrawn. Please contact the study coordinator."},
                status=403,
            )
        if reader.study.status != Study.OPEN and not reader.is_locked:
            return render(
                request,
                "surveys/refused.html",
                {"message": "This study is not open for reading at the moment."},
                status=403,
            )
        return view(request, reader, token, *args, **kwargs)

    return wrapper


def finished_refusal(request: HttpRequest) -> HttpResponse:
    """The 403 a finished reader gets for anything but the thank-you page (answers, scans, the video)."""
    return render(request, "surveys/refused.html", {"message": "You have already finished this study."}, status=403)


def plan_volumes(reader: Reader) -> set[str]:
    """The opaque names of every volume this reader's plan shows."""
    names = set()
    for task in reader.plan:
        names.update(task["volumes"] if task["kind"] == "ranking" else [task["volume"]])
    return names
