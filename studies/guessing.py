"""How well the side channels alone give the source away: a leave-one-out nearest-centroid guess, against chance.

Each volume is described by its side-channel values only (byte lengths, header and stream digests, lattice,
parity, padding, file metadata; never its picture). Where a channel cannot be measured on a volume (None, e.g.
no padding) it takes the channel's most common measured value, so only measured differences count. Numbers are
standardised; anything else is one-hot coded.
Every volume in turn is left out, each source's centroid is taken over the remaining volumes and the nearest
centroid is the guess; ties share the credit, so a study whose channels are all constant scores exactly 1/k
for k sources of equal size. The figure is the share of volumes guessed right, over the volumes of sources with
at least two (a source's only volume, left out, leaves nothing to learn it from); chance is 1 / number of sources.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from numbers import Real
from typing import Hashable, Mapping

import numpy as np

TIE = 1e-9  # squared distances this close count as a tie


@dataclass(frozen=True)
class SourceGuess:
    """The leave-one-out result: `correct` (tie credit included) of `volumes`, with `sources` sources."""

    correct: float
    volumes: int
    sources: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.volumes

    @property
    def chance(self) -> float:
        return 1.0 / self.sources

    def __str__(self) -> str:
        return (
            f"side channels alone guess the source of {self.correct:.4g} of {self.volumes} volumes "
            f"({100 * self.accuracy:.0f} %, leave-one-out nearest centroid); chance is {100 * self.chance:.0f} % "
            f"({self.sources} sources)"
        )


def feature_matrix(features: Mapping[str, Mapping[str, Hashable]], names: list[str]) -> np.ndarray:
    """Rows of `names`: missing values imputed, numeric features standardised, other features one-hot; constant
    features dropped."""
    keys = sorted({key for row in features.values() for key in row})
    columns = []
    for key in keys:
        values = [features[name].get(key) for name in names]
        measured = [v for v in values if v is not None]
        if not measured:
            continue
        common = Counter(map(repr, measured)).most_common(1)[0][0]
        values = [next(v for v in measured if repr(v) == common) if v is None else v for v in values]
        if all(isinstance(v, Real) and not isinstance(v, bool) for v in values):
            column = np.asarray(values, dtype=np.float64)
            if column.std() > 0:
                columns.append((column - column.mean()) / column.std())
        else:
            levels = sorted({repr(v) for v in values})
            if len(levels) > 1:
                columns += [np.asarray([repr(v) == level for v in values], dtype=np.float64) for level in levels]
    return np.stack(columns, axis=1) if columns else np.zeros((len(names), 0))


def guess_sources(features: Mapping[str, Mapping[str, Hashable]], sources: Mapping[str, str]) -> SourceGuess | None:
    """Leave-one-out nearest-centroid guess of each volume's source from `features` (keyed by volume name);
    None with fewer than two sources or no source of two or more volumes."""
    names = sorted(features)
    labels = sorted({sources[name] for name in names})
    if len(labels) < 2:
        return None
    x = feature_matrix(features, names)
    member = np.asarray([[sources[name] == label for label in labels] for name in names], dtype=np.float64)
    sums, counts = member.T @ x, member.sum(axis=0)
    scored = [row for row, name in enumerate(names) if counts[labels.index(sources[name])] >= 2]
    if not scored:
        return None
    correct = 0.0
    for row in scored:
        own = labels.index(sources[names[row]])
        left = counts - member[row]
        usable = left > 0
        centroids = (sums - np.outer(member[row], x[row])) / np.maximum(left, 1)[:, None]
        distances = ((centroids - x[row]) ** 2).sum(axis=1)
        distances[~usable] = np.inf
        nearest = np.flatnonzero(distances <= distances.min() + TIE)
        if own in nearest:
            correct += 1.0 / len(nearest)
    return SourceGuess(correct, len(scored), len(labels))
