"""Pathology recognition: how often readers name the finding a scan was made (or diagnosed) with."""

from __future__ import annotations

import pandas as pd
from statsmodels.stats.proportion import proportion_confint


def wilson_interval(correct: int, n: int) -> list[float]:
    r"""95 % Wilson score interval of a proportion (Wilson 1927; Newcombe 1998; statsmodels `method="wilson"`).

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p (1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + z^2/n}

    Chosen over the Wald interval because it stays inside [0, 1] and keeps its coverage at 0 or n correct;
    STARD 2015 (item 24) asks for such a measure of precision. [0, 1] when n = 0.
    """
    if n == 0:
        return [0.0, 1.0]
    low, high = proportion_confint(correct, n, alpha=0.05, method="wilson")
    return [max(0.0, float(low)), min(1.0, float(high))]


def accuracy(answers: pd.DataFrame) -> dict:
    """{"n", "correct", "accuracy", "ci95"} of answered rows (`correct` is a boolean column)."""
    n, correct = int(len(answers)), int(answers["correct"].sum())
    return {"n": n, "correct": correct, "accuracy": correct / n if n else 0.0, "ci95": wilson_interval(correct, n)}


def answered(pathology: pd.DataFrame) -> pd.DataFrame:
    """The rows with an answer; an empty answer is an item the reader has not reached yet, not a wrong answer."""
    return pathology[pathology["answer"] != ""]


def recognition_summary(pathology: pd.DataFrame) -> dict:
    """Accuracy overall, by true finding, by source, and correct counts per volume (the paper's Fig. 7)."""
    rows = answered(pathology)
    by_volume = (
        rows.groupby(["volume", "source", "truth"], sort=True)["correct"].agg(n="size", correct="sum").reset_index()
    )
    return {
        "overall": accuracy(rows),
        "by_truth": {truth: accuracy(group) for truth, group in rows.groupby("truth", sort=True)},
        "by_source": {source: accuracy(group) for source, group in rows.groupby("source", sort=True)},
        "by_volume": [
            {
                "volume": str(r.volume),
                "source": str(r.source),
                "truth": str(r.truth),
                "n": int(r.n),
                "correct": int(r.correct),
            }
            for r in by_volume.itertuples()
        ],
    }


def notes(pathology: pd.DataFrame) -> pd.DataFrame:
    """Every answer with a free-text note, for the manual review the paper did with a radiologist."""
    columns = ["reader", "volume", "source", "truth", "answer", "correct", "note"]
    return pathology.loc[pathology["note"] != "", columns].reset_index(drop=True)
