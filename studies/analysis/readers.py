"""Who the readers were and how long they took: the paper's first paragraph of findings."""

from __future__ import annotations

import pandas as pd

from studies.analysis.tables import LEVELS


def readers_summary(readers: pd.DataFrame) -> dict:
    """Counts, years of experience (min, median, max, mean), readers per level, minutes mean and SD (n − 1).

    Minutes are over finished readers when any have finished (the paper's 37.47 ± 12.06 min is over completed
    surveys), otherwise over everyone with a time.
    """
    finished = readers[readers["finished"] != ""]
    timed = finished if len(finished) else readers
    minutes = timed["minutes"].dropna()
    years = readers["years_experience"].dropna()
    return {
        "count": int(len(readers)),
        "finished": int(len(finished)),
        "experience": {
            "n": int(len(years)),
            "min": _number(years.min()),
            "median": _number(years.median()),
            "max": _number(years.max()),
            "mean": _number(years.mean()),
            "by_level": {level: int((readers["level"] == level).sum()) for level in LEVELS},
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
