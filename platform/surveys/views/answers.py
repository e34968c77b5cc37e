"""The autosave endpoint: one JSON POST per answer change or time report."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from surveys.access import reader_view
from surveys.answering import AnswerRefused, record_answer
from surveys.models import Reader


@reader_view
@require_POST
def answer(request: HttpRequest, reader: Reader, token: str) -> JsonResponse:
    """Store the posted answer and/or active seconds; refuse with a message the page shows."""
    try:
        payload = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JsonResponse({"error": "The answer could not be read."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "The answer could not be read."}, status=400)
    try:
        saved = record_answer(reader.pk, payload, timezone.now())
    except AnswerRefused as refusal:
        return JsonResponse({"error": refusal.message}, status=refusal.status)
    done, total = reader.progress()
    return JsonResponse({"saved": True, "complete": saved.is_complete, "done": done, "total": total})
