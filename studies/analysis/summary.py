"""The whole analysis of section V-F-2 as one plain dict: the content of summary.json and the staff results page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.analysis.blocks import structure_blocks
from studies.analysis.friedman import friedman
from studies.analysis.kendall import kendall_w
from studies.analysis.pairwise import check_posthoc, pairwise_posthoc, pairwise_wilcoxon
from studies.analysis.readers import readers_summary
from studies.analysis.recognition import recognition_summary
from studies.analysis.tables import validate_pathology, validate_rankings, validate_readers
from studies.errors import StudyError

DEFAULT_REFERENCE = "real"
MIN_POSTHOC_BLOCKS = 2


def analyze(
    rankings: pd.DataFrame | None,
    pathology: pd.DataFrame | None = None,
    readers: pd.DataFrame | None = None,
    *,
    reference: str | None = None,
    blocks: str = "set",
    posthoc: str | None = None,
) -> dict:
    """Validate the export tables and compute every statistic; returns the summary.json structure.

    rankings / pathology / readers: the export tables (DESIGN.md), as read by `studies.analysis.tables` or built
    from the database; rankings may be None (a study, or its answers so far, without rankings).
    reference: the source the plots and report compare against ("real" when present).
    blocks: "set" (each reader's ranking of one set is a block) or "reader" (a reader's ranks averaged per source).
    posthoc: also run "conover" or "nemenyi" (scikit-posthocs) next to the Wilcoxon tests; a structure with too
    few complete blocks gets none, and "posthoc_skipped" says why.
    """
    summary = {"reference": None, "blocks": blocks, "ranking": {}}
    if rankings is not None:
        rankings = validate_rankings(rankings)
        summary["reference"] = _reference(rankings, reference)
        summary["ranking"] = {
            structure: structure_summary(rankings, structure, blocks, posthoc)
            for structure in rankings["structure"].unique()
        }
    summary["pathology"] = recognition_summary(validate_pathology(pathology)) if pathology is not None else None
    summary["readers"] = readers_summary(validate_readers(readers)) if readers is not None else None
    return summary


def structure_summary(rankings: pd.DataFrame, structure: str, blocks: str = "set", posthoc: str | None = None) -> dict:
    """Mean ranks, rank counts, Friedman, Kendall's W and pairwise tests of one structure over its complete blocks."""
    found = structure_blocks(rankings, structure, blocks)
    ranks, k = found.ranks, found.ranks.shape[1]
    counts = found.rows.groupby("source")["rank"].value_counts().unstack(fill_value=0)
    counts = counts.reindex(index=ranks.columns, columns=range(1, k + 1), fill_value=0)
    result = {
        "n_blocks": int(len(ranks)),
        "n_incomplete": int(len(found.incomplete)),
        "incomplete": found.incomplete.to_dict(orient="records"),
        "mean_rank": {source: _float(ranks[source].mean()) for source in ranks.columns},
        "sd_rank": {source: _float(ranks[source].std(ddof=1)) for source in ranks.columns},
        "rank_counts": {
            source: {str(r): int(counts.loc[source, r]) for r in counts.columns} for source in counts.index
        },
        "friedman": None,
        "kendall_w": None,
        "pairwise": [],
    }
    if posthoc:
        result.update(_posthoc(ranks, posthoc))
    if len(ranks) == 0:
        return result
    values = ranks.to_numpy()
    result["friedman"] = friedman(values)
    result["kendall_w"] = kendall_w(values)
    result["pairwise"] = _records(pairwise_wilcoxon(ranks))
    return result


def _posthoc(ranks: pd.DataFrame, method: str) -> dict:
    """{"posthoc": pairs}, or no pairs and "posthoc_skipped" with the reason when too few blocks to compare sources.

    A post-hoc comparison of one block is meaningless (Conover's has (n − 1)(k − 1) = 0 degrees of freedom);
    a p that is still undefined with more blocks becomes null (see `pairwise_posthoc`).
    """
    if len(ranks) < MIN_POSTHOC_BLOCKS:
        reason = f"the {check_posthoc(method)} post-hoc test needs at least {MIN_POSTHOC_BLOCKS} complete blocks"
        return {"posthoc": [], "posthoc_skipped": f"{reason}, found {len(ranks)}"}
    return {"posthoc": _records(pairwise_posthoc(ranks, method))}


def _reference(rankings: pd.DataFrame, reference: str | None) -> str | None:
    """The reference source: as asked (it must be ranked in every structure), else "real" when ranked, else None."""
    per_structure = rankings.groupby("structure")["source"].agg(set)
    if reference is None:
        return DEFAULT_REFERENCE if all(DEFAULT_REFERENCE in s for s in per_structure) else None
    for structure, sources in per_structure.items():
        if reference not in sources:
            raise StudyError(
                f"reference source {reference!r} is not ranked for structure {structure!r} "
                f"(sources: {', '.join(sorted(sources))})"
            )
    return reference


def _float(value: float) -> float | None:
    """A plain float for JSON; None where undefined (e.g. the SD of a single block)."""
    return None if pd.isna(value) else float(value)


def _records(table: pd.DataFrame) -> list[dict]:
    """A tidy table as a list of plain-typed dicts; NaN (an undefined statistic) becomes None, JSON's null."""
    return [
        {key: (_float(value) if isinstance(value, (float, np.floating)) else value) for key, value in row.items()}
        for row in table.to_dict(orient="records")
    ]
