"""Every answer with a free-text note, of every single-scan task: the manual review the paper did with a radiologist,
and for a real-or-synthetic task what made a reader decide."""

from __future__ import annotations

import pandas as pd

NOTE_COLUMNS = ["task", "reader", "volume", "source", "truth", "answer", "correct", "note"]


def notes(
    pathology: pd.DataFrame | None, ratings: pd.DataFrame | None = None, discrimination: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The noted answers (NOTE_COLUMNS): a rating's answer is its score ("3 of 5"), a judgement's its answer and
    confidence ("synthetic, confidence 4"); truth and correct are empty where a task has none."""
    parts = []
    if pathology is not None:
        parts.append(pathology.assign(task="recognition"))
    if ratings is not None:
        parts.append(
            ratings.assign(
                task="rating",
                truth="",
                correct="",
                answer=[f"{score} of {scale}" for score, scale in zip(ratings["score"], ratings["scale"])],
            )
        )
    if discrimination is not None:
        parts.append(
            discrimination.assign(
                task="discrimination",
                answer=[
                    f"{answer}, confidence {confidence}"
                    for answer, confidence in zip(discrimination["answer"], discrimination["confidence"])
                ],
            )
        )
    noted = [part.loc[part["note"].fillna("") != "", NOTE_COLUMNS] for part in parts if "note" in part.columns]
    if not noted:
        return pd.DataFrame(columns=NOTE_COLUMNS)
    return pd.concat(noted, ignore_index=True)
