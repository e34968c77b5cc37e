"""Recording a reader's autosaved answer: every rule checked first, then one transaction with its audit entry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from surveys.models import (
    CONFIDENCES,
    REAL,
    SYNTHETIC,
    AnswerChange,
    DiscriminationAnswer,
    RankingAnswer,
    RatingAnswer,
    Reader,
    RecognitionAnswer,
    task_key,
)

NOTE_LIMIT = 5000
"""The longest note a reader may keep with a single-scan answer (characters); the page counts against it."""
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


@dataclass
class Saved:
    """A stored autosave: the answer, and the reader's progress after it."""

    answer: RecognitionAnswer | RankingAnswer | RatingAnswer | DiscriminationAnswer
    done: int
    total: int


def record_answer(reader_id: int, payload: dict[str, Any], now: datetime) -> Saved:
    """Validate and store one autosave (answer and/or active seconds) of task `payload['position']`; raise
    AnswerRefused.

    One transaction of as few queries as the audit trail allows: lock the reader, read their answers (one query per
    kind of task in the plan), then write the answer, its audit entry and the reader's last-seen time; a first answer
    looks up its item or set once more, a time report without a change writes no audit entry. With the reader_view's
    token lookup, a changed answer in a recognition-and-ranking study takes 7 queries (tests/platform/
    test_save_queries.py; it took 17).
    """
    with transaction.atomic():
        # of=self: lock the reader's row only; a lock on the joined study row would queue every save of the study
        reader = Reader.objects.select_for_update(of=("self",)).select_related("study").get(pk=reader_id)
        if reader.is_locked:
            raise AnswerRefused("You have finished this study, so your answers can no longer change.", 403)
        task = _task_of(reader, payload)
        answers = reader.answers_by_position()
        _not_ahead(reader, payload["position"], answers)
        seconds = _bounded_seconds(reader, payload.get("seconds", 0), now)
        answer, change = APPLY[task["kind"]](reader, task, payload, answers.get(payload["position"]))
        answer.seconds += seconds
        answer.save()
        if change is not None:
            AnswerChange.objects.create(reader=reader, task=_describe(task), value=change, changed_at=now)
        reader.last_seen_at = now
        reader.save(update_fields=["last_seen_at"])
        answers[payload["position"]] = answer
        return Saved(answer, *reader.progress(answers))


def _task_of(reader: Reader, payload: dict[str, Any]) -> dict[str, Any]:
    """The plan task the payload addresses, refusing anything outside the reader's plan."""
    position = payload.get("position")
    if not isinstance(position, int) or isinstance(position, bool):
        raise AnswerRefused("The answer does not say which task it belongs to.")
    try:
        task = reader.task(position)
    except IndexError:
        raise AnswerRefused("This item is not part of your study.") from None
    key = "set" if task["kind"] == "ranking" else "volume"
    if payload.get("kind") != task["kind"] or payload.get(key) != task_key(task):
        raise AnswerRefused("This item is not part of your study.")
    return task


def _not_ahead(reader: Reader, position: int, answers: dict[int, Any]) -> None:
    """Refuse an answer for a task after the first unanswered one: the order of the plan is part of the design."""
    first_open = reader.first_incomplete(answers)
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


def _recognition(reader: Reader, task: dict[str, Any], payload: dict[str, Any], answer: RecognitionAnswer | None):
    """Apply a recognition answer (option and/or note) to the stored one (None: a first answer); return (answer,
    audit value or None)."""
    if answer is None:
        item = reader.study.recognition_items.get(volume__name=task["volume"])
        answer = RecognitionAnswer(reader=reader, item=item)
    before = (answer.option, answer.note)
    if "option" in payload:
        if payload["option"] not in reader.study.options:
            raise AnswerRefused("That option does not exist in this study.")
        answer.option = payload["option"]
    _apply_note(answer, payload)
    if (answer.option, answer.note) == before:
        return answer, None
    return answer, {"option": answer.option, "note": answer.note}


def _apply_note(answer: RecognitionAnswer | RatingAnswer | DiscriminationAnswer, payload: dict[str, Any]) -> None:
    if "note" in payload:
        if not isinstance(payload["note"], str) or len(payload["note"]) > NOTE_LIMIT:
            raise AnswerRefused(f"The note must be text of at most {NOTE_LIMIT} characters.")
        answer.note = payload["note"].strip()


def _whole_number(value: Any, allowed: range, what: str) -> int:
    """`value` if it is one of `allowed` (a JSON integer, not true/false or 3.0), else a refusal saying the range."""
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise AnswerRefused(f"The {what} must be a whole number from {allowed[0]} to {allowed[-1]}.")
    return value


def _rating(reader: Reader, task: dict[str, Any], payload: dict[str, Any], answer: RatingAnswer | None):
    """Apply a score (1..scale) and/or note and return (answer, audit value or None)."""
    if answer is None:
        answer = RatingAnswer(reader=reader, item=reader.study.rating_items.get(volume__name=task["volume"]))
    before = (answer.score, answer.note)
    if "score" in payload:
        answer.score = _whole_number(payload["score"], range(1, reader.study.rating["scale"] + 1), "score")
    _apply_note(answer, payload)
    if (answer.score, answer.note) == before:
        return answer, None
    return answer, {"score": answer.score, "note": answer.note}


def _discrimination(reader: Reader, task: dict[str, Any], payload: dict[str, Any], answer: DiscriminationAnswer | None):
    """Apply a judgement (real or synthetic), a confidence (1–5) and/or a note; return (answer, audit value or None)."""
    if answer is None:
        item = reader.study.discrimination_items.get(volume__name=task["volume"])
        answer = DiscriminationAnswer(reader=reader, item=item)
    before = (answer.answer, answer.confidence, answer.note)
    if "answer" in payload:
        if payload["answer"] not in (REAL, SYNTHETIC):
            raise AnswerRefused('The answer must be "real" or "synthetic".')
        answer.answer = payload["answer"]
    if "confidence" in payload:
        answer.confidence = _whole_number(payload["confidence"], CONFIDENCES, "confidence")
    _apply_note(answer, payload)
    if (answer.answer, answer.confidence, answer.note) == before:
        return answer, None
    return answer, {"answer": answer.answer, "confidence": answer.confidence, "note": answer.note}


def _ranking(reader: Reader, task: dict[str, Any], payload: dict[str, Any], answer: RankingAnswer | None):
    """Apply a complete rank set (over the set's scans as the plan lists them) and return (answer, audit value or
    None)."""
    if answer is None:
        answer = RankingAnswer(reader=reader, ranking_set=reader.study.ranking_sets.get(key=task["set"]))
    if "ranks" not in payload:
        return answer, None
    ranks = payload["ranks"]
    if not isinstance(ranks, dict):
        raise AnswerRefused("Ranks must map each scan to its rank.")
    try:
        answer.ranking_set.check_ranks(ranks, names=task["volumes"])
    except ValidationError as error:
        raise AnswerRefused(error.messages[0]) from None
    if ranks == answer.ranks:
        return answer, None
    answer.ranks = ranks
    return answer, {"ranks": ranks}


def _describe(task: dict[str, Any]) -> str:
    """A staff-facing name of a task for the audit trail."""
    if task["kind"] == "ranking":
        return f"ranking {task['set']} ({task['structure']})"
    return f"{task['kind']} {task['volume']}"


APPLY = {"recognition": _recognition, "ranking": _ranking, "rating": _rating, "discrimination": _discrimination}
