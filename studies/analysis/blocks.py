"""Turn one structure's ranking rows into a blocks × sources matrix, the unit every rank test works on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from studies.errors import StudyError

BLOCKINGS = ("set", "reader")


@dataclass(frozen=True)
class Blocks:
    """The complete blocks of one structure, and the rankings left out because a source was missing.

    `ranks`: DataFrame, one row per block (index: block id), one column per source, the rank (mean rank when
    blocks are readers). `rows`: the validated answer rows of the complete rankings. `incomplete`: one row per
    left-out ranking (reader, set, ranked, missing).
    """

    ranks: pd.DataFrame
    rows: pd.DataFrame
    incomplete: pd.DataFrame


def structure_blocks(
    rankings: pd.DataFrame, structure: str, by: str = "set", sources: list[str] | None = None
) -> Blocks:
    """Blocks of one structure: each (reader, set) ranking, or with by="reader" each reader's ranks averaged per source.

    A ranking that lacks a source is incomplete: it is reported in `incomplete` and left out (never mixed in),
    as is a reader's average over only the complete rankings. The block id is built here, explicitly, because
    `pingouin.friedman(subject="reader")` would silently average a reader's sets. `sources`: the structure's
    sources (from the design), by default those its rows name.
    """
    if by not in BLOCKINGS:
        raise StudyError(f"blocks must be one of {', '.join(BLOCKINGS)}, not {by!r}")
    rows = rankings[rankings["structure"] == structure]
    sources = list(rows["source"].unique()) if sources is None else list(sources)
    counts = rows.groupby(["reader", "set"], sort=True)["source"].agg(lambda s: set(s))
    complete_keys = [key for key, ranked in counts.items() if len(ranked) == len(sources)]
    incomplete = pd.DataFrame(
        [
            {
                "reader": reader,
                "set": set_id,
                "ranked": len(ranked),
                "missing": ", ".join(sorted(set(sources) - ranked)),
            }
            for (reader, set_id), ranked in counts.items()
            if len(ranked) != len(sources)
        ],
        columns=["reader", "set", "ranked", "missing"],
    )
    keyed = rows.set_index(["reader", "set"])
    used = keyed.loc[keyed.index.isin(complete_keys)].reset_index()
    if by == "set":
        ranks = used.pivot(index=["reader", "set"], columns="source", values="rank")
        ranks.index = [f"{reader} / {set_id}" for reader, set_id in ranks.index]
    else:
        ranks = used.pivot_table(index="reader", columns="source", values="rank", aggfunc="mean")
    ranks = ranks.reindex(columns=sources).astype(float)
    ranks.index.name = "block"
    ranks.columns.name = None
    return Blocks(ranks=ranks, rows=used, incomplete=incomplete)
