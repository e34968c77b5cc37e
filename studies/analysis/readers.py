"""Who the readers were and how long they took: the paper's first paragraph of findings."""

from __future__ import annotations

import pandas as pd

from studies.analysis.tables import LEVELS, STATUSES

TOOK_PART = (STATUSES.FINISHED, STATUSES.STARTED)


def readers_summary(readers: pd.DataFrame) -> dict:
    """Invited readers, those who took part (started; revoked ones apart), experience, levels, minutes (n − 1 SD).

    `count` is the readers who started (finished or not) and were not revoked; `not_started` and `revoked` list the
    others by id. Experience and levels are over those who took part; minutes over finished readers when any have
    finished (the paper's 37.47 ± 12.06 min is over completed surveys), otherwise over those who took part.
    """
    took_part = readers[readers["status"].isin(TOOK_PART)]
    finished = took_part[took_part["status"] == STATUSES.FINISHED]
    timed = finished if len(finished) else took_part
    minutes = timed["minutes"].dropna()
    years = took_part["years_experience"].dropna()
    return {
        "count": int(len(took_part)),
        "finished": int(len(finished)),
        "invited": int(len(readers)),
        "not_started": [str(r) for r in readers.loc[readers["status"] == STATUSES.NOT_STARTED, "reader"]],
        "revoked": [str(r) for r in readers.loc[readers["status"] == STATUSES.REVOKED, "reader"]],
        "experience": {
            "n": int(len(years)),
            "min": _number(years.min()),
            "median": _number(years.median()),
            "max": _number(years.max()),
            "mean": _number(years.mean()),
            "by_level": {level: int((took_part["level"] == level).sum()) for level in LEVELS},
        },
        "minutes": {
            "n": int(len(minutes)),
            "mean": _number(minutes.mean()),
            "sd": _number(minutes.std(ddof=1)) if len(minutes) > 1 else None,
        },
    }


def _number(value: float) -> float | None:
    """A plain float for JSON, None for a missing value."""
    return None if pd.isna(value) else float(value)
