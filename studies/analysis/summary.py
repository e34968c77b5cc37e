"""The whole analysis of section V-F-2 as one plain dict: the content of summary.json and the staff results page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studies.analysis.adjust import adjust_p, check_family, check_method
from studies.analysis.blocks import structure_blocks
from studies.analysis.crossed import crossed_test
from studies.analysis.design import Design
from studies.analysis.discrimination import discrimination_summary
from studies.analysis.endpoints import apply_plan, default_document
from studies.analysis.export_checks import (
    FILES,
    check_one_study,
    normalise_readers,
    reconcile_readers,
    single_reader_sets,
)
from studies.analysis.friedman import friedman_test
from studies.analysis.kendall import reader_agreement
from studies.analysis.pairwise import check_posthoc, pairwise_posthoc, pairwise_wilcoxon
from studies.analysis.permutation import DRAWS, scan_permutation_pairs, scan_permutation_test
from studies.analysis.plan import DEFAULT_ALPHA
from studies.analysis.rating import rating_summary
from studies.analysis.readers import readers_summary
from studies.analysis.recognition import recognition_summary
from studies.analysis.sources import DEFAULT_REFERENCE, source_order
from studies.analysis.tables import (
    check_reader_ids,
    structure_sources,
    validate_discrimination,
    validate_pathology,
    validate_rankings,
    validate_ratings,
    validate_readers,
)
from studies.analysis.timing import reading_times
from studies.errors import StudyError

MIN_POSTHOC_BLOCKS = 2
NO_RATINGS = "no rating answers yet"
NO_DISCRIMINATION = "no discrimination answers yet"


def analyze(
    rankings: pd.DataFrame | None,
    pathology: pd.DataFrame | None = None,
    readers: pd.DataFrame | None = None,
    *,
    reference: str | None = None,
    blocks: str = "set",
    posthoc: str | None = None,
    design: Design | None = None,
    family: str | None = None,
    adjust: str | None = None,
    seed: int = 0,
    draws: int = DRAWS,
    ratings: pd.DataFrame | None = None,
    discrimination: pd.DataFrame | None = None,
    plan: dict | None = None,
) -> dict:
    """Validate the export tables and compute every statistic; returns the summary.json structure.

    rankings / pathology / readers / ratings / discrimination: the export tables (docs/architecture.md), as read by
    `studies.analysis.tables` or built from the database; any may be None (a study, or its answers so far, without
    that task); ratings and discrimination without rows give {"n_...": 0, "note": "no ... answers yet"}.
    reference: the source the plots and report compare against ("real" when present).
    blocks: "set" (each reader's ranking of one set is a block) or "reader" (a reader's ranks averaged per source).
    posthoc: also run "conover" or "nemenyi" (scikit-posthocs) next to the Wilcoxon tests; a structure with too
    few complete blocks gets none, and "posthoc_skipped" says why.
    design: the study's design; every answer must fit it. family / adjust: the multiple-comparison family
    ("structure": each structure's pairs; "all": every structure's pairs together) and method ("bonferroni",
    "holm", "none") of every pair's `p_adjusted`; `p_bonferroni` is always Bonferroni within the structure. None:
    the plan's; a reference, family or method other than the plan's is a deviation the summary names.
    seed / draws: of the Monte Carlo permutations (used only where full enumeration is too large) and bootstraps.
    plan: the plan document (`studies.analysis.endpoints`); None: the documented defaults for the tasks given. Its
    ranking α is also the level at which the generalising test decides whether the design can support its claim.
    """
    answers = {"rankings": rankings, "recognition": pathology, "rating": ratings, "discrimination": discrimination}
    check_one_study(answers)
    answers, readers, merges = normalise_readers(answers, readers)
    validators = {
        "rankings": validate_rankings,
        "recognition": validate_pathology,
        "rating": validate_ratings,
        "discrimination": validate_discrimination,
    }
    answers = {
        task: None if table is None else validators[task](table, design=design) for task, table in answers.items()
    }
    notes = []
    if readers is not None:
        readers = validate_readers(readers)
        for task, table in answers.items():
            if table is not None:
                check_reader_ids(table, readers, FILES[task], "readers.csv")
        answers, notes = reconcile_readers(answers, readers)
    rankings, pathology, ratings, discrimination = answers.values()
    if ratings is not None and "reversed" in ratings.columns:
        notes.append("ratings.csv records a scale whose highest score meant least realistic: scores were reversed")
    given = {("ranking" if task == "rankings" else task): t for task, t in answers.items() if t is not None}
    sources = {str(s) for table in given.values() for s in table["source"]}
    plan = plan or default_document(tuple(given), sources)
    deviations = []
    ranking_plan = plan["plan"].get("ranking") or {}
    for name, asked, planned in (
        ("correction", adjust, ranking_plan.get("correction")),
        ("family", family, ranking_plan.get("family")),
    ):
        if asked is not None and planned is not None and asked != planned:
            deviations.append(f"{name} {asked!r} was asked for at analysis time; the plan says {planned!r}")
    adjust = check_method(adjust or ranking_plan.get("correction") or plan["plan"]["correction"])
    family = check_family(family or ranking_plan.get("family") or plan["plan"]["family"])
    planned_reference = ranking_plan.get("reference", plan["plan"]["reference"])
    alpha = ranking_plan.get("alpha", plan["plan"]["alpha"])
    if reference is not None and reference != planned_reference:
        deviations.append(
            f"reference {reference!r} was asked for at analysis time; the plan says {planned_reference!r}"
        )
    summary = {
        "reference": None,
        "blocks": blocks,
        "adjustment": {"method": adjust, "family": family},
        "ranking": {},
    }
    if rankings is not None and len(rankings):
        notes += single_reader_sets(rankings)
        sources = design.sources() if design is not None else structure_sources(rankings)
        summary["reference"] = _reference(
            rankings, reference, planned_reference, deviations if plan["plan"]["written"] else None
        )
        summary["ranking"] = {
            structure: structure_summary(
                rankings,
                structure,
                blocks,
                posthoc,
                sources=source_order(sources[structure], summary["reference"]),
                seed=seed,
                draws=draws,
                alpha=alpha,
            )
            for structure in rankings["structure"].unique()
        }
        adjust_pairs(summary["ranking"], family, adjust)
    order = summary["reference"]
    summary["pathology"] = recognition_summary(pathology, seed, order) if pathology is not None else None
    summary["rating"] = None
    if ratings is not None:
        rating_adjust = (plan["plan"].get("rating") or {}).get("correction", adjust)
        summary["rating"] = (
            rating_summary(ratings, source_order(ratings["source"], order), rating_adjust, draws, seed)
            if len(ratings)
            else {"n_ratings": 0, "note": NO_RATINGS}
        )
    summary["discrimination"] = None
    if discrimination is not None:
        summary["discrimination"] = (
            discrimination_summary(discrimination, source_order(discrimination["source"], order), seed)
            if len(discrimination)
            else {"n_answers": 0, "note": NO_DISCRIMINATION}
        )
    summary["readers"] = readers_summary(readers) if readers is not None else None
    summary["reading_time"] = _records(reading_times(rankings, pathology, order, ratings, discrimination))
    summary["plan"] = apply_plan(summary, plan, deviations)
    summary["data_checks"] = {"reader_merges": merges, "notes": notes}
    return summary


def structure_summary(
    rankings: pd.DataFrame,
    structure: str,
    blocks: str = "set",
    posthoc: str | None = None,
    *,
    sources: list[str] | None = None,
    seed: int = 0,
    draws: int = DRAWS,
    alpha: float = DEFAULT_ALPHA,
) -> dict:
    """Mean ranks, rank counts, Friedman, Kendall's W, pairwise tests, reader agreement per set, the scan-level
    permutation tests and the crossed readers × scans test (`crossed_test`: every complete ranking, declined with
    its reason where the design cannot support it) of one structure over its complete rankings; every per-source
    entry and pair in the order of `sources` (analyze passes them in `source_order`)."""
    found = structure_blocks(rankings, structure, blocks, sources)
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
        "reader_agreement": None,
        "scan_level": None,
        "crossed": None,
    }
    if posthoc:
        result.update(_posthoc(ranks, posthoc))
    if len(ranks) == 0:
        return result
    long = ranks.rename_axis(columns="source").stack().rename("rank").reset_index()
    test = friedman_test(long).iloc[0]
    result["friedman"] = {"statistic": float(test["statistic"]), "df": int(test["df"]), "p": float(test["p"])}
    result["kendall_w"] = {"w": float(test["w"]), "p": float(test["p"])}
    result["pairwise"] = _records(pairwise_wilcoxon(long))
    result["reader_agreement"] = _agreement(reader_agreement(found.rows))
    result["scan_level"] = _scan_level(found.rows, list(ranks.columns), seed, draws)
    result["crossed"] = crossed_test(found.rows, alpha, seed=seed, draws=draws)
    return result


def adjust_pairs(ranking: dict, family: str, method: str) -> None:
    """Give every Wilcoxon pair and every scan-level pair its `p_adjusted`, over the family asked for: each
    structure's pairs of one test, or ("all") those of every structure together."""
    for key in ("pairwise", "scan_level"):
        groups = [
            (result[key] if key == "pairwise" else (result[key] or {}).get("pairwise", []))
            for result in ranking.values()
        ]
        families = groups if family == "structure" else [[pair for group in groups for pair in group]]
        for pairs in families:
            adjusted = adjust_p(np.array([pair["p"] for pair in pairs], dtype=float), method)
            for pair, value in zip(pairs, adjusted):
                pair["p_adjusted"] = _float(value)


def _agreement(table: pd.DataFrame) -> dict:
    """The reader_agreement entry of summary.json from `reader_agreement`'s table (sets with one reader: null W)."""
    measured = table["w"].dropna()
    return {
        "w_mean": _float(measured.mean()),
        "w_min": _float(measured.min()),
        "w_max": _float(measured.max()),
        "w_by_set": {
            str(row.set): {"w": _float(row.w), "p": _float(row.p), "readers": int(row.readers)}
            for row in table.itertuples(index=False)
        },
    }


def _scan_level(rows: pd.DataFrame, sources: list[str], seed: int, draws: int) -> dict:
    """The scan_level entry of summary.json from the two permutation tests' tables, pairs in the order of sources."""
    test = scan_permutation_test(rows, seed=seed, draws=draws).iloc[0]
    pairs = scan_permutation_pairs(rows, sources=sources, seed=seed, draws=draws)
    return {
        "method": str(test["method"]),
        "exact": bool(test["exact"]),
        "permutations": int(test["permutations"]),
        "statistic": float(test["statistic"]),
        "p": float(test["p"]),
        "mc_se": float(test["mc_se"]),
        "sets": int(test["sets"]),
        "pairwise_exact": bool(pairs["exact"].all()) if len(pairs) else True,
        "pairwise_permutations": int(pairs["permutations"].iloc[0]) if len(pairs) else 0,
        "pairwise_min_p": float(pairs["min_p"].iloc[0]) if len(pairs) else 1.0,
        "pairwise": [
            {"a": str(pair.a), "b": str(pair.b), "difference": float(pair.difference), "p": float(pair.p)}
            for pair in pairs.itertuples(index=False)
        ],
    }


def _posthoc(ranks: pd.DataFrame, method: str) -> dict:
    """{"posthoc": pairs}, or no pairs and "posthoc_skipped" with the reason when too few blocks to compare sources.

    A post-hoc comparison of one block is meaningless (Conover's has (n − 1)(k − 1) = 0 degrees of freedom);
    a p that is still undefined with more blocks becomes null (see `pairwise_posthoc`).
    """
    if len(ranks) < MIN_POSTHOC_BLOCKS:
        reason = f"the {check_posthoc(method)} post-hoc test needs at least {MIN_POSTHOC_BLOCKS} complete blocks"
        return {"posthoc": [], "posthoc_skipped": f"{reason}, found {len(ranks)}"}
    return {"posthoc": _records(pairwise_posthoc(ranks, method))}


def _reference(
    rankings: pd.DataFrame,
    reference: str | None,
    planned: str | None = DEFAULT_REFERENCE,
    deviations: list | None = None,
) -> str | None:
    """The reference source: as asked (it must be ranked in every structure), else the plan's when ranked in every
    structure (a deviation when not), else None."""
    per_structure = rankings.groupby("structure")["source"].agg(set)
    if reference is None:
        if planned is not None and not all(planned in s for s in per_structure):
            (deviations if deviations is not None else []).append(
                f"the plan's reference {planned!r} is not ranked in every structure, so none was used"
            )
            return None
        return planned
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
