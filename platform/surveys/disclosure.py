"""What the staff may see of a study's results now (no peeking): progress only while it is open, the primary endpoints
at the interim looks its plan allows (each look's analysis frozen at its first view), everything once it is closed;
every look recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from studies.analysis.endpoints import look_alpha
from studies.analysis.plan import interim_of
from surveys.exports import first_views
from surveys.models import ResultsLook, Study
from surveys.progress import StudyProgress, study_progress


@dataclass(frozen=True)
class Disclosure:
    """What may be shown now: `shown` (progress, interim, final), the interim look due (1-based) and the information
    fraction (finished readers over the plan's), with the progress the page always shows."""

    shown: str
    progress: StudyProgress
    look: int | None = None
    fraction: float | None = None
    planned: int | None = None
    next_look: float | None = None

    @property
    def locked(self) -> bool:
        """Nothing but progress may be shown."""
        return self.shown == ResultsLook.PROGRESS


def disclosure(study: Study) -> Disclosure:
    """The results state of `study`: final once closed; while open, the latest interim look whose information
    fraction has been reached (the last look, at full information, only comes with closing), else progress only."""
    progress = study_progress(study)
    if study.status == Study.CLOSED:
        return Disclosure(ResultsLook.FINAL, progress)
    interim = interim_of(study.analysis_plan)
    if not interim or study.status != Study.OPEN:
        return Disclosure(ResultsLook.PROGRESS, progress)
    fraction = progress.finished / interim["readers"]
    reached = [t for t in interim["looks"][:-1] if fraction >= t]
    upcoming = [t for t in interim["looks"][:-1] if fraction < t]
    state = ResultsLook.INTERIM if reached else ResultsLook.PROGRESS
    return Disclosure(
        state, progress, len(reached) or None, fraction, interim["readers"], upcoming[0] if upcoming else None
    )


def record(study: Study, user, what: str, state: Disclosure, summary: dict | None = None) -> ResultsLook:
    """Write the audit row of one look at the results (page or download)."""
    return ResultsLook.objects.create(
        study=study,
        user=user if getattr(user, "is_authenticated", False) else None,
        what=what,
        shown=state.shown,
        look=state.look,
        fraction=state.fraction,
        finished=state.progress.finished,
        summary=summary,
    )


def interim_endpoints(study: Study, look: ResultsLook) -> list[dict[str, Any]]:
    """The primary endpoints of an interim look, each judged at the nominal α of its O'Brien–Fleming boundary for
    the fractions of the looks taken up to this one."""
    plan = study.analysis_plan
    fractions = [row.fraction for row in first_views(study) if row.look <= look.look]
    rows = []
    for row in look.summary["plan"]["endpoints"]:
        if row["role"] != "primary" or not plan[row["task"]]["interim"] or row["test"] == "accuracy":
            continue
        alpha = look_alpha(plan, row["task"], fractions)
        if row["p_adjusted"] is None:
            rows.append({**row, "alpha": alpha, "decision": f"not computed: {row['why']}"})
            continue
        crossed = row["p_adjusted"] <= alpha
        rows.append({**row, "alpha": alpha, "decision": "boundary crossed" if crossed else "continue"})
    return rows


def opened_for(study: Study) -> str:
    """How long the study has been open, e.g. "3 days, 4 hours" (empty before it opened)."""
    if study.plan_frozen_at is None:
        return ""
    end = study.closed_at or timezone.now()
    hours = int((end - study.plan_frozen_at).total_seconds() // 3600)
    return f"{hours // 24} days, {hours % 24} hours" if hours >= 24 else f"{hours} hours"
