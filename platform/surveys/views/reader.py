"""The reader's pages: welcome, tasks one at a time, the review before finishing, thank-you."""

from __future__ import annotations

from functools import lru_cache

import markdown
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from contracts.windows import WINDOWS
from surveys.access import finished_refusal, reader_view
from surveys.answering import NOTE_LIMIT
from surveys.forms import DemographicsForm
from surveys.models import CONFIDENCES, REAL, SYNTHETIC, DiscriminationAnswer, Reader

ANSWER_KEYS = {REAL: "L", SYNTHETIC: "S"}
"""Keys for a real-or-synthetic judgement; not R, Papaya's ruler (static/surveys/keys.js lists Papaya's keys)."""


@lru_cache(maxsize=256)
def _markdown(text: str) -> str:
    """Researcher-written markdown as HTML (the researcher is trusted; readers write nothing that is rendered); each
    study's texts are rendered once per process, not on every task page."""
    return mark_safe(markdown.markdown(text)) if text else ""


def _thanks(request: HttpRequest, reader: Reader) -> HttpResponse:
    """The page a finished reader sees, with the study's closing message."""
    return render(
        request, "surveys/thanks.html", {"reader": reader, "closing": _markdown(reader.study.closing_message)}
    )


@reader_view
@require_http_methods(["GET"])
def welcome(request: HttpRequest, reader: Reader, token: str) -> HttpResponse:
    """Instructions, optional video and demographics; a returning reader goes straight back to their task."""
    if reader.is_locked:
        return _thanks(request, reader)
    if reader.started_at is not None:
        return redirect("surveys:task", token=token, number=reader.position + 1)
    form = DemographicsForm(initial={"years_experience": reader.years_experience, "level": reader.level})
    return _welcome_page(request, reader, token, form)


def _welcome_page(
    request: HttpRequest, reader: Reader, token: str, form: DemographicsForm, status: int = 200
) -> HttpResponse:
    """The welcome page: instructions, the video if the study has one, and the demographics form."""
    return render(
        request,
        "surveys/welcome.html",
        {
            "reader": reader,
            "token": token,
            "form": form,
            "tasks": len(reader.plan),
            "instructions": _markdown(reader.study.instructions),
            "video_url": reverse("surveys:video", args=[token, reader.study.video]) if reader.study.video else "",
            "upcoming": _upcoming(reader, token, -1),
        },
        status=status,
    )


@reader_view
@require_POST
def start(request: HttpRequest, reader: Reader, token: str) -> HttpResponse:
    """Record the optional demographics and the start time, then open the first task."""
    if reader.is_locked:
        return finished_refusal(request)
    form = DemographicsForm(request.POST)
    if not form.is_valid():
        return _welcome_page(request, reader, token, form, status=400)
    reader.years_experience = form.cleaned_data["years_experience"]
    reader.level = form.cleaned_data["level"]
    reader.started_at = reader.started_at or timezone.now()
    reader.last_seen_at = timezone.now()
    reader.save(update_fields=["years_experience", "level", "started_at", "last_seen_at"])
    return redirect("surveys:task", token=token, number=reader.position + 1)


@reader_view
@require_http_methods(["GET"])
def task(request: HttpRequest, reader: Reader, token: str, number: int) -> HttpResponse:
    """Task `number` (1-based) of the reader's plan; no skipping past the first unanswered task."""
    if reader.is_locked:
        return _thanks(request, reader)
    if reader.started_at is None:
        return redirect("surveys:welcome", token=token)
    total = len(reader.plan)
    answers = reader.answers_by_position()
    first_open = reader.first_incomplete(answers)
    reachable = total - 1 if first_open is None else first_open
    position = number - 1
    if not 0 <= position < total:
        return redirect("surveys:task", token=token, number=reachable + 1)
    if position > reachable:
        messages.warning(request, f"Please answer task {reachable + 1} before moving on.")
        return redirect("surveys:task", token=token, number=reachable + 1)
    if reader.position != position:
        reader.position = position
        reader.save(update_fields=["position"])
    plan_task = reader.task(position)
    answer = answers.get(position)
    context = {
        "reader": reader,
        "token": token,
        "number": number,
        "total": total,
        "done": reader.progress(answers)[0],
        "percent": round(100 * position / total),
        "previous_url": reverse("surveys:task", args=[token, number - 1]) if number > 1 else "",
        "next_url": reverse("surveys:task", args=[token, number + 1])
        if number < total
        else reverse("surveys:finish", args=[token]),
        "answer_url": reverse("surveys:answer", args=[token]),
        "instructions": _markdown(reader.study.instructions),
        "presets": [{"name": n, "width": round(w), "level": round(lv)} for n, (w, lv) in WINDOWS.items()],
        "upcoming": _upcoming(reader, token, position),
    }
    if plan_task["kind"] == "recognition":
        context.update(
            {
                "kind": "recognition",
                "window": reader.study.recognition_window,
                "options": reader.study.options,
                "chosen": answer.option if answer else "",
                **_single_scan(token, position, plan_task, answer),
            }
        )
        return render(request, "surveys/recognition.html", context)
    if plan_task["kind"] == "rating":
        rating = reader.study.rating
        context.update(
            {
                "kind": "rating",
                "window": rating["window"],
                "question": rating["question"],
                "points": [
                    {"score": n, "label": label, "key": str(n % 10)}
                    for n, label in enumerate(rating["labels"], start=1)
                ],
                "chosen": answer.score if answer else None,
                **_single_scan(token, position, plan_task, answer),
            }
        )
        return render(request, "surveys/rating.html", context)
    if plan_task["kind"] == "discrimination":
        context.update(
            {
                "kind": "discrimination",
                "window": reader.study.discrimination["window"],
                "question": reader.study.discrimination["question"],
                "answers": [(value, label, ANSWER_KEYS[value]) for value, label in DiscriminationAnswer.ANSWERS],
                "confidences": CONFIDENCES,
                "chosen": answer.answer if answer else "",
                "confidence": answer.confidence if answer else None,
                **_single_scan(token, position, plan_task, answer),
            }
        )
        return render(request, "surveys/discrimination.html", context)
    ranks = answer.ranks if answer else {}
    scans = [_scan(token, name, _scan_letter(i), ranks.get(name)) for i, name in enumerate(plan_task["volumes"])]
    context.update(
        {
            "kind": "ranking",
            "structure": plan_task["structure"],
            "window": reader.study.ranking_sets.get(key=plan_task["set"]).window,
            "scans": scans,
            "rank_choices": range(1, len(scans) + 1),
            "view_key": plan_task["structure"],
            "task_data": {"position": position, "kind": "ranking", "set": plan_task["set"]},
        }
    )
    return render(request, "surveys/ranking.html", context)


def _single_scan(token: str, position: int, plan_task: dict, answer) -> dict:
    """What every page of one scan with a note needs (its view key is its kind: remembered windows follow the kind)."""
    kind = plan_task["kind"]
    return {
        "scans": [_scan(token, plan_task["volume"], "")],
        "task_data": {"position": position, "kind": kind, "volume": plan_task["volume"]},
        "note": answer.note if answer else "",
        "note_limit": NOTE_LIMIT,
        "view_key": kind,
    }


def _volumes_of(plan_task: dict) -> list[str]:
    return list(plan_task["volumes"]) if plan_task["kind"] == "ranking" else [plan_task["volume"]]


def _upcoming(reader: Reader, token: str, position: int) -> list[str]:
    """URLs of the scans of the task after `position` (-1: the welcome page) that this page does not show: the page
    has the browser fetch them into its cache while the reader works, so the next page need not wait for them."""
    if position + 1 >= len(reader.plan):
        return []
    shown = set(_volumes_of(reader.task(position))) if position >= 0 else set()
    return [
        reverse("surveys:volume", args=[token, name])
        for name in _volumes_of(reader.task(position + 1))
        if name not in shown
    ]


def _scan_letter(index: int) -> str:
    """The label of the scan at 0-based `index` of a ranking page, as spreadsheet columns go: A … Z, AA, AB, …"""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def _scan(token: str, name: str, letter: str, rank: int | None = None) -> dict:
    """What a page needs to show one scan: its opaque name, URL, letter and current rank."""
    return {"name": name, "url": reverse("surveys:volume", args=[token, name]), "letter": letter, "rank": rank}


def _review(reader: Reader, token: str) -> list[dict]:
    """Every task of the plan as the review lists it: what was asked, the answer given (ranks by scan letter),
    the note, and whether it is still missing."""
    answers = reader.answers_by_position()
    first_open = reader.first_incomplete(answers)
    rows = []
    for position, plan_task in enumerate(reader.plan):
        answer = answers.get(position)
        row = {"number": position + 1, "url": reverse("surveys:task", args=[token, position + 1]), "note": ""}
        unseen = answer is None and position > reader.position
        if unseen or (first_open is not None and position > first_open):
            row.update(question="", answer="", reachable=False)  # what later tasks ask is not shown before them
        else:
            row.update(_review_answer(plan_task, answer, reader), reachable=True)
        row["missing"] = answer is None or not answer.is_complete
        rows.append(row)
    return rows


def _review_answer(plan_task: dict, answer, reader: Reader) -> dict:
    """The question, the answer as the reader gave it and the note, for one task of the review."""
    kind = plan_task["kind"]
    note = getattr(answer, "note", "") if answer else ""
    if kind == "recognition":
        return {"question": "Finding", "answer": answer.option if answer else "", "note": note}
    if kind == "rating":
        score = answer.score if answer else None
        given = "" if score is None else f"{score} of {reader.study.rating['scale']}"
        return {"question": "Rating", "answer": given, "note": note}
    if kind == "discrimination":
        parts = [answer.get_answer_display() if answer and answer.answer else ""]
        if answer and answer.confidence is not None:
            parts.append(f"confidence {answer.confidence} of {CONFIDENCES[-1]}")
        return {"question": "Real or synthetic", "answer": ", ".join(p for p in parts if p), "note": note}
    ranks = answer.ranks if answer else {}
    given = [f"{_scan_letter(i)} {ranks[n]}" for i, n in enumerate(plan_task["volumes"]) if n in ranks]
    return {"question": f"Ranking: {plan_task['structure']}", "answer": " · ".join(given), "note": ""}


@reader_view
@require_http_methods(["GET", "POST"])
def finish(request: HttpRequest, reader: Reader, token: str) -> HttpResponse:
    """The review: every task's answer and note and what is missing; POST locks the answers once every task is
    answered (the page asks for a confirmation first)."""
    if reader.is_locked:
        return finished_refusal(request) if request.method == "POST" else _thanks(request, reader)
    if reader.started_at is None:
        return redirect("surveys:welcome", token=token)
    review = _review(reader, token)
    missing = [row["number"] for row in review if row["missing"]]
    if request.method == "POST":
        if missing:
            messages.error(request, "Some tasks still need an answer: " + ", ".join(map(str, missing)) + ".")
            return redirect("surveys:finish", token=token)
        reader.finished_at = timezone.now()
        reader.save(update_fields=["finished_at"])
        return redirect("surveys:welcome", token=token)
    return render(
        request,
        "surveys/finish.html",
        {
            "reader": reader,
            "token": token,
            "total": len(reader.plan),
            "review": review,
            "missing": missing,
            "previous_url": reverse("surveys:task", args=[token, len(reader.plan)]),
        },
    )
