"""Reading time: how long readers spent per task, from the `seconds` the platform records for each answer."""

from __future__ import annotations

import pandas as pd

from studies.analysis.sources import source_order

TIME_COLUMNS = ["task", "group", "value", "n", "median", "q1", "q3"]


def describe_seconds(data: pd.DataFrame, by: str | None = None, seconds: str = "seconds") -> pd.DataFrame:
    """Median and interquartile range (25th–75th percentile, linear interpolation) of `seconds`, overall or per `by`.

    Rows without a recorded time (NaN) are left out. Returns value (the group, "all" overall), n, median, q1, q3.
    """
    timed = data.dropna(subset=[seconds])
    groups = [("all", timed)] if by is None else list(timed.groupby(by, sort=True))
    return pd.DataFrame(
        [
            {
                "value": str(value),
                "n": int(len(rows)),
                "median": float(rows[seconds].median()),
                "q1": float(rows[seconds].quantile(0.25)),
                "q3": float(rows[seconds].quantile(0.75)),
            }
            for value, rows in groups
            if len(rows)
        ],
        columns=["value", "n", "median", "q1", "q3"],
    )


def reading_times(
    rankings: pd.DataFrame | None,
    pathology: pd.DataFrame | None,
    reference: str | None = None,
    ratings: pd.DataFrame | None = None,
    discrimination: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Reading time per task kind, per set for rankings and per source (in `source_order`) for the single-scan tasks
    (recognition, rating, discrimination) (TIME_COLUMNS).

    A ranking's seconds belong to the whole set (the export repeats them on each of its rows), so each (reader, set)
    counts once; a single-scan answer counts once.
    """
    parts = []
    if rankings is not None and "seconds" in rankings.columns:
        per_ranking = rankings.drop_duplicates(["reader", "set"])
        parts += [
            describe_seconds(per_ranking).assign(task="ranking", group="all"),
            describe_seconds(per_ranking, "set").assign(task="ranking", group="set"),
        ]
    if pathology is not None:
        pathology = pathology[pathology["answer"] != ""]
    for task, answers in (("recognition", pathology), ("rating", ratings), ("discrimination", discrimination)):
        if answers is not None and "seconds" in answers.columns and not answers.empty:
            parts += [
                describe_seconds(answers).assign(task=task, group="all"),
                _in_source_order(describe_seconds(answers, "source"), reference).assign(task=task, group="source"),
            ]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=TIME_COLUMNS)
    return pd.concat(parts, ignore_index=True)[TIME_COLUMNS]


def _in_source_order(times: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """describe_seconds's rows per source, in `source_order`."""
    return times.set_index("value").loc[source_order(times["value"], reference)].reset_index()
