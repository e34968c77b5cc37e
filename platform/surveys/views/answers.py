"""The autosave endpoint: one JSON POST per answer change or time report."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from surveys.access import reader_view
from surveys.answering import AnswerRefused, record_answer
from surveys.models import Reader

MAX_BODY_BYTES = 256 * 1024
"""The largest autosave body accepted (larger: 413). A note of 5,000 characters, each escaped as a surrogate pair
(12 bytes), takes 60 KB; 100,000 nested brackets (200 KB) still get a plain 400."""
UNREADABLE = "The answer could not be read."


def _refuse_constant(name: str) -> None:
    """json.loads hook: NaN and Infinity are not JSON numbers."""
    raise ValueError(f"{name} is not a number")


@reader_view
@require_POST
def answer(request: HttpRequest, reader: Reader, token: str) -> JsonResponse:
    """Store the posted answer and/or active seconds; refuse with a message the page shows (413 for a body over
    MAX_BODY_BYTES, 400 for one that is not a JSON object: too deeply nested, NaN, or an integer beyond Python's
    digit limit included)."""
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return JsonResponse({"error": UNREADABLE}, status=400)
    if declared > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return JsonResponse({"error": f"The answer is larger than {MAX_BODY_BYTES // 1024} KB."}, status=413)
    try:
        payload = json.loads(request.body or b"{}", parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError and the integer digit limit
        return JsonResponse({"error": UNREADABLE}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": UNREADABLE}, status=400)
    try:
        saved = record_answer(reader.pk, payload, timezone.now())
    except AnswerRefused as refusal:
        return JsonResponse({"error": refusal.message}, status=refusal.status)
    return JsonResponse({"saved": True, "complete": saved.answer.is_complete, "done": saved.done, "total": saved.total})
