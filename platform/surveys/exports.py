"""The tidy CSV exports read by `python -m studies analyze`: one row per answer (or per volume of the design),
columns fixed by the contract, text cells neutralised against spreadsheet formulas."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any, Iterator

from studies.analysis.design import DESIGN_COLUMNS
from studies.analysis.endpoints import PLAN_FILE, plan_document
from studies.analysis.spreadsheet import neutralise_row
from studies.analysis.tables import STATUSES
from surveys.models import (
    DiscriminationAnswer,
    RankingAnswer,
    RatingAnswer,
    Reader,
    RecognitionAnswer,
    ResultsLook,
    Study,
    with_answers,
)

COLUMNS = {
    "rankings": ["study", "reader", "structure", "set", "volume", "source", "rank", "seconds"],
    "pathology": ["study", "reader", "volume", "source", "truth", "answer", "correct", "note", "seconds"],
    "ratings": ["study", "reader", "volume", "source", "scale", "score", "note", "seconds", "higher_is_more_realistic"],
    "discrimination": [
        "study",
        "reader",
        "volume",
        "source",
        "truth",
        "answer",
        "confidence",
        "correct",
        "note",
        "seconds",
    ],
    "readers": ["reader", "years_experience", "level", "started", "finished", "minutes", "status"],
    "design": list(DESIGN_COLUMNS),
}


def iso(moment) -> str:
    """ISO 8601 UTC with a Z, or '' when unset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def ranking_rows(study: Study) -> Iterator[list]:
    """One row per ranked scan of every complete ranking answer."""
    answers = (
        RankingAnswer.objects.filter(reader__study=study).exclude(ranks={}).select_related("reader", "ranking_set")
    )
    volumes = {v.name: v for v in study.volumes.all()}
    for answer in answers.order_by("reader__index", "ranking_set__key"):
        for name, rank in sorted(answer.ranks.items(), key=lambda item: item[1]):
            volume = volumes[name]
            yield [
                study.slug,
                answer.reader.label,
                answer.ranking_set.structure,
                answer.ranking_set.key,
                volume.key_id,
                volume.source,
                rank,
                round(answer.seconds, 3),
            ]


def pathology_rows(study: Study) -> Iterator[list]:
    """One row per answered recognition scan."""
    answers = (
        RecognitionAnswer.objects.filter(reader__study=study)
        .exclude(option="")
        .select_related("reader", "item__volume")
    )
    for answer in answers.order_by("reader__index", "item__volume__key_id"):
        volume = answer.item.volume
        yield [
            study.slug,
            answer.reader.label,
            volume.key_id,
            volume.source,
            volume.finding,
            answer.option,
            answer.is_correct,
            answer.note,
            round(answer.seconds, 3),
        ]


def rating_rows(study: Study) -> Iterator[list]:
    """One row per scored scan."""
    answers = RatingAnswer.objects.filter(reader__study=study, score__isnull=False).select_related(
        "reader", "item__volume"
    )
    scale = (study.rating or {}).get("scale", "")
    higher = "true" if (study.rating or {}).get("higher_is_more_realistic", True) else "false"
    for answer in answers.order_by("reader__index", "item__volume__key_id"):
        volume = answer.item.volume
        yield [
            study.slug,
            answer.reader.label,
            volume.key_id,
            volume.source,
            scale,
            answer.score,
            answer.note,
            round(answer.seconds, 3),
            higher,
        ]


def discrimination_rows(study: Study) -> Iterator[list]:
    """One row per scan judged real or synthetic with a confidence."""
    answers = (
        DiscriminationAnswer.objects.filter(reader__study=study, confidence__isnull=False)
        .exclude(answer="")
        .select_related("reader", "item__volume")
    )
    for answer in answers.order_by("reader__index", "item__volume__key_id"):
        volume = answer.item.volume
        yield [
            study.slug,
            answer.reader.label,
            volume.key_id,
            volume.source,
            answer.item.truth,
            answer.answer,
            answer.confidence,
            answer.is_correct,
            answer.note,
            round(answer.seconds, 3),
        ]


def reader_status(reader: Reader) -> str:
    """Where an invited reader stands: revoked (whatever they did before), finished, started or not started."""
    if reader.revoked_at is not None:
        return STATUSES.REVOKED
    if reader.finished_at is not None:
        return STATUSES.FINISHED
    return STATUSES.STARTED if reader.started_at is not None else STATUSES.NOT_STARTED


def reader_rows(study: Study) -> Iterator[list]:
    """One row per invited reader, with their status (answers prefetched: no queries per reader)."""
    for reader in with_answers(Reader.objects.filter(study=study).order_by("index")):
        years = "" if reader.years_experience is None else reader.years_experience
        yield [
            reader.label,
            years,
            reader.level,
            iso(reader.started_at),
            iso(reader.finished_at),
            round(reader.seconds_spent() / 60, 3),
            reader_status(reader),
        ]


def design_rows(study: Study) -> Iterator[list]:
    """The study's design (DESIGN_COLUMNS): one row per volume of each recognition item and ranking set."""
    for item in study.recognition_items.select_related("volume").order_by("volume__key_id"):
        yield ["recognition", "", "", item.volume.key_id, item.volume.source, item.volume.finding]
    for ranking_set in study.ranking_sets.prefetch_related("volumes").order_by("key"):
        for volume in sorted(ranking_set.volumes.all(), key=lambda v: v.key_id):
            yield ["ranking", ranking_set.structure, ranking_set.key, volume.key_id, volume.source, volume.finding]
    for item in study.rating_items.select_related("volume").order_by("volume__key_id"):
        yield ["rating", "", "", item.volume.key_id, item.volume.source, ""]
    for item in study.discrimination_items.select_related("volume").order_by("volume__key_id"):
        yield ["discrimination", "", "", item.volume.key_id, item.volume.source, item.truth]


ROWS = {
    "rankings": ranking_rows,
    "pathology": pathology_rows,
    "ratings": rating_rows,
    "discrimination": discrimination_rows,
    "readers": reader_rows,
    "design": design_rows,
}


def write_export(kind: str, study: Study, stream: IO[str]) -> int:
    """Write export `kind` of `study` as CSV to `stream`, text cells neutralised; return the number of data rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS[kind])
    count = 0
    for row in ROWS[kind](study):
        writer.writerow(neutralise_row(row))
        count += 1
    return count


def first_views(study: Study) -> list[ResultsLook]:
    """The first view of each interim look taken, in look order: the analyses frozen at those looks."""
    rows = ResultsLook.objects.filter(study=study, shown=ResultsLook.INTERIM, summary__isnull=False).order_by("at")
    first: dict[int, ResultsLook] = {}
    for row in rows:
        first.setdefault(row.look, row)
    return [first[look] for look in sorted(first)]


def looks_taken(study: Study) -> list[dict[str, Any]]:
    """plan.json's `looks`: each interim look taken (number, fraction, finished readers, when, by whom)."""
    return [
        {
            "look": row.look,
            "fraction": row.fraction,
            "finished": row.finished,
            "at": iso(row.at),
            "by": row.user.get_username() if row.user else "",
        }
        for row in first_views(study)
    ]


def frozen_plan(study: Study) -> dict[str, Any]:
    """The plan document the analysis follows and the export ships as plan.json."""
    return plan_document(
        study.analysis_plan,
        "plan.json",
        study.plan_sha256 or None,
        iso(study.plan_frozen_at) or None,
        looks_taken(study),
    )


def plan_json(study: Study) -> str:
    """plan.json: the frozen analysis plan, its SHA-256, when it was frozen and the interim looks taken."""
    return json.dumps(frozen_plan(study), indent=2, ensure_ascii=False) + "\n"


def write_exports(study: Study, folder: Path) -> dict[str, int]:
    """All the exports into `folder` (written to temporary names, then renamed), plan.json beside them; rows per
    CSV file."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for kind in COLUMNS:
        partial = folder / f".{kind}.csv.partial"
        with partial.open("w", encoding="utf-8", newline="") as stream:
            counts[kind] = write_export(kind, study, stream)
        partial.replace(folder / f"{kind}.csv")
    partial = folder / f".{PLAN_FILE}.partial"
    partial.write_text(plan_json(study), encoding="utf-8")
    partial.replace(folder / PLAN_FILE)
    return counts
