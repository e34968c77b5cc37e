"""Recording a reader's autosaved answer: every rule checked first, then one transaction with its audit entry."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from surveys.models import AnswerChange, RankingAnswer, Reader, RecognitionAnswer

NOTE_LIMIT = 5000
"""The longest note a reader may keep with a recognition answer (characters); the page counts against it."""
MAX_SECONDS_PER_REPORT = 120.0
"""The page reports active time at least this often; a larger claim is cut to it."""
CLOCK_SLACK_SECONDS = 5.0
"""Allowance for network delay when bounding a report by the wall-clock time since the reader's last request."""


class AnswerRefused(Exception):
    """An answer the platform will not record; `message` says why in the reader's words, `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def record_answer(reader_id: int, payload: dict[str, Any], now: datetime) -> RecognitionAnswer | RankingAnswer:
    """Validate and store one autosave (answer and/or active seconds) of task `payload['position']`; raise
    AnswerRefused.
    """
    with transaction.atomic():
        reader = Reader.objects.select_for_update().select_related("study").get(pk=reader_id)
        if reader.is_locked:
            raise AnswerRefused("You have finished this study, so your answers can no longer change.", 403)
        task = _task_of(reader, payload)
        _not_ahead(reader, payload["position"])
        seconds = _bounded_seconds(reader, payload.get("seconds", 0), now)
        if task["kind"] == "recognition":
            answer, change = _recognition(reader, task, payload)
        else:
            answer, change = _ranking(reader, task, payload)
        answer.seconds += seconds
        answer.save()
        if change is not None:
            AnswerChange.objects.create(reader=reader, task=_describe(task), value=change, changed_at=now)
        reader.last_seen_at = now
        reader.save(update_fields=["last_seen_at"])
        return answer


def _task_of(reader: Reader, payload: dict[str, Any]) -> dict[str, Any]:
    """The plan task the payload addresses, refusing anything outside the reader's plan."""
    position = payload.get("position")
    if not isinstance(position, int) or isinstance(position, bool):
        raise AnswerRefused("The answer does not say which task it belongs to.")
    try:
        task = reader.task(position)
    except IndexError:
        raise AnswerRefused("This item is not part of your study.") from None
    key = "volume" if task["kind"] == "recognition" else "set"
    if payload.get("kind") != task["kind"] or payload.get(key) != task[key]:
        raise AnswerRefused("This item is not part of your study.")
    return task


def _not_ahead(reader: Reader, position: int) -> None:
    """Refuse an answer for a task after the first unanswered one: the order of the plan is part of the design."""
    first_open = reader.first_incomplete()
    if first_open is not None and position > first_open:
        raise AnswerRefused(
            f"Please answer task {first_open + 1} first: tasks are answered in order, "
            f"so task {position + 1} cannot be saved yet.",
            409,
        )


def _bounded_seconds(reader: Reader, claimed: Any, now: datetime) -> float:
    """The reported active seconds, bounded by the report interval and the wall-clock time since the last request."""
    refusal = AnswerRefused("The time spent must be a number of seconds.")
    if not isinstance(claimed, (int, float)) or isinstance(claimed, bool):
        raise refusal
    try:
        seconds = float(claimed)
    except OverflowError:  # an integer of hundreds of digits
        raise refusal from None
    if not math.isfinite(seconds):
        raise refusal
    bound = MAX_SECONDS_PER_REPORT
    if reader.last_seen_at is not None:
        bound = min(bound, (now - reader.last_seen_at).total_seconds() + CLOCK_SLACK_SECONDS)
    return max(0.0, min(seconds, bound))


def _recognition(reader: Reader, task: dict[str, Any], payload: dict[str, Any]):
    """Apply a recognition answer (option and/or note) and return (answer, audit value or None)."""
    item = reader.study.recognition_items.select_related("volume").get(volume__name=task["volume"])
    answer, _ = RecognitionAnswer.objects.get_or_create(reader=reader, item=item)
    before = (answer.option, answer.note)
    if "option" in payload:
        if payload["option"] not in reader.study.options:
            raise AnswerRefused("That option does not exist in this study.")
        answer.option = payload["option"]
    if "note" in payload:
        if not isinstance(payload["note"], str) or len(payload["note"]) > NOTE_LIMIT:
            raise AnswerRefused(f"The note must be text of at most {NOTE_LIMIT} characters.")
        answer.note = payload["note"].strip()
    if (answer.option, answer.note) == before:
        return answer, None
    return answer, {"option": answer.option, "note": answer.note}


def _ranking(reader: Reader, task: dict[str, Any], payload: dict[str, Any]):
    """Apply a complete rank set and return (answer, audit value or None)."""
    ranking_set = reader.study.ranking_sets.get(key=task["set"])
    answer, _ = RankingAnswer.objects.get_or_create(reader=reader, ranking_set=ranking_set)
    if "ranks" not in payload:
        return answer, None
    ranks = payload["ranks"]
    if not isinstance(ranks, dict):
        raise AnswerRefused("Ranks must map each scan to its rank.")
    try:
        ranking_set.check_ranks(ranks)
    except ValidationError as error:
        raise AnswerRefused(error.messages[0]) from None
    if ranks == answer.ranks:
        return answer, None
    answer.ranks = ranks
    return answer, {"ranks": ranks}


def _describe(task: dict[str, Any]) -> str:
    """A staff-facing name of a task for the audit trail."""
    if task["kind"] == "recognition":
        return f"recognition {task['volume']}"
    return f"ranking {task['set']} ({task['structure']})"
