"""Effects and variance components for planning, estimated from a pilot's rankings.csv.

Simulated method of moments: the pilot's mean ranks give the source effects (`effects_from_mean_ranks`), and two
spreads give the variance components of the power model: how much a reader's mean rank of a source (over sets)
varies between readers (reader preference, plus noise), and how much a set's mean rank of a source (over readers)
varies between sets (scan quality, plus noise). The SDs are those of a grid whose simulated spreads, for a study of
the pilot's size, are closest to the observed ones. A pilot of a few readers and sets gives rough estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studies.analysis.blocks import structure_blocks
from studies.analysis.power import Design, effects_from_mean_ranks, simulate_ranks
from studies.errors import StudyError

GRID = np.round(np.arange(0.0, 2.01, 0.25), 3)
SIMULATIONS = 200


@dataclass(frozen=True)
class PilotEstimate:
    """What a pilot says about one structure: effects, SDs, and the size it was estimated from."""

    structure: str
    effects: dict[str, float]
    reader_sd: float
    scan_sd: float
    readers: int
    sets: int


def pilot_ranks(rankings: pd.DataFrame, structure: str) -> tuple[np.ndarray, list[str]]:
    """(readers, sets, k) ranks of the readers who ranked every set of the structure completely, and the sources."""
    rows = structure_blocks(rankings, structure).rows
    sources = list(dict.fromkeys(rows["source"]))
    sets = list(dict.fromkeys(rows["set"]))
    per_reader = rows.groupby("reader")["set"].nunique()
    readers = list(per_reader[per_reader == len(sets)].index)
    if len(readers) < 2 or len(sets) < 2:
        raise StudyError(
            f"pilot structure {structure!r}: need at least 2 readers who ranked all of at least 2 sets "
            f"(found {len(readers)} readers with all {len(sets)} sets)"
        )
    table = rows[rows["reader"].isin(readers)].pivot_table(
        index=["reader", "set"], columns="source", values="rank", aggfunc="first"
    )
    table = table.reindex(pd.MultiIndex.from_product([readers, sets]), columns=sources)
    return table.to_numpy(dtype=float).reshape(len(readers), len(sets), len(sources)), sources


def spreads(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(between-reader, between-set) variance of mean ranks, averaged over sources, for ranks (..., R, S, k)."""
    readers = ranks.mean(axis=-2).var(axis=-2, ddof=1).mean(axis=-1)
    sets = ranks.mean(axis=-3).var(axis=-2, ddof=1).mean(axis=-1)
    return readers, sets


def estimate_from_pilot(rankings: pd.DataFrame, structure: str | None = None, seed: int = 0) -> PilotEstimate:
    """Effects, reader_sd and scan_sd of one structure (default: the first) from a pilot's validated rankings."""
    structures = list(dict.fromkeys(rankings["structure"]))
    name = structure or structures[0]
    if name not in structures:
        raise StudyError(f"the pilot has no structure {name!r} (has: {', '.join(structures)})")
    ranks, sources = pilot_ranks(rankings, name)
    observed = np.array(spreads(ranks))
    mean_rank = dict(zip(sources, ranks.reshape(-1, len(sources)).mean(axis=0)))
    best, best_distance = None, np.inf
    for reader_sd in GRID:
        for scan_sd in GRID:
            effects = effects_from_mean_ranks(mean_rank, float(np.sqrt(1 + reader_sd**2 + scan_sd**2)))
            design = Design(effects, ranks.shape[0], ranks.shape[1], reader_sd=reader_sd, scan_sd=scan_sd)
            simulated = simulate_ranks(design, SIMULATIONS, np.random.default_rng(seed))
            expected = np.array([part.mean() for part in spreads(simulated)])
            distance = float((((observed - expected) / expected) ** 2).sum())
            if distance < best_distance:
                best, best_distance = (float(reader_sd), float(scan_sd), effects), distance
    reader_sd, scan_sd, effects = best
    return PilotEstimate(name, effects, reader_sd, scan_sd, ranks.shape[0], ranks.shape[1])
