"""A database that cannot be reached gives the reader a clear page (an autosave: a reply its page retries on), never a
traceback; every answer acknowledged before stays stored."""

from __future__ import annotations

import logging
from pathlib import Path

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "templates" / "surveys" / "unavailable.html"
"""Plain HTML (nginx shows the same file when no app host answers): rendering a template could need the database."""
RETRY_AFTER_SECONDS = 5
SAVE_MESSAGE = "The study server cannot store answers at the moment."


class DatabaseUnavailableMiddleware:
    """503 with Retry-After for a view that hit a lost or refused database connection (OperationalError,
    InterfaceError); other errors are bugs and stay server errors."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable, %s %s answered 503: %s", request.method, request.path, exception)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if request.method == "POST" and request.content_type == "application/json":
            return JsonResponse({"error": SAVE_MESSAGE, "retry": True}, status=503, headers=headers)
        return HttpResponse(PAGE.read_bytes(), status=503, headers=headers)
