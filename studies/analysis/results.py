"""The analysis as files: summary.json, CSV tables, report.md and PNG plots, written all or nothing."""

from __future__ import annotations

import json
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Callable

import pandas as pd

from studies.analysis.plots import (
    Target,
    mean_ranks_plot,
    rank_frequency_plot,
    rating_plot,
    recognition_plot,
    roc_plot,
)
from studies.analysis.report import report_markdown
from studies.analysis.sources import by_source_order, source_order
from studies.analysis.spreadsheet import neutralise_frame
from studies.errors import StudyError

FILES = frozenset(
    {
        "summary.json",
        "report.md",
        "notes.csv",
        "mean_ranks.csv",
        "tests.csv",
        "pairwise.csv",
        "incomplete.csv",
        "posthoc.csv",
        "recognition.csv",
        "recognition_by_volume.csv",
        "readers_summary.csv",
        "reader_agreement.csv",
        "scan_level.csv",
        "reading_time.csv",
        "mean_ranks.png",
        "rank_frequencies.png",
        "recognition.png",
        "rating_by_source.csv",
        "rating_pairs.csv",
        "rating_agreement.csv",
        "discrimination_accuracy.csv",
        "discrimination_by_reader.csv",
        "ratings.png",
        "discrimination_roc.png",
    }
)
"""Every file `write_results` may write: the only files it removes when a new run no longer writes them."""


def result_tables(summary: dict) -> dict[str, pd.DataFrame]:
    """The numbers of `analyze`'s summary as tidy tables, keyed by CSV file stem (also what a results page shows);
    sources in `source_order`."""
    ranking, reference = summary["ranking"], summary.get("reference")
    tables = (
        {}
        if not ranking
        else {
            "mean_ranks": pd.DataFrame(
                [
                    {
                        "structure": structure,
                        "source": source,
                        "n_blocks": result["n_blocks"],
                        "mean_rank": result["mean_rank"][source],
                        "sd_rank": result["sd_rank"][source],
                        **{f"rank_{rank}": count for rank, count in result["rank_counts"][source].items()},
                    }
                    for structure, result in ranking.items()
                    for source in source_order(result["mean_rank"], reference)
                ]
            ),
            "tests": pd.DataFrame(
                [
                    {
                        "structure": structure,
                        "n_blocks": result["n_blocks"],
                        "n_incomplete": result["n_incomplete"],
                        "friedman_chi2": (result["friedman"] or {}).get("statistic"),
                        "df": (result["friedman"] or {}).get("df"),
                        "friedman_p": (result["friedman"] or {}).get("p"),
                        "kendall_w": (result["kendall_w"] or {}).get("w"),
                        "kendall_p": (result["kendall_w"] or {}).get("p"),
                        "reader_w_mean": (result.get("reader_agreement") or {}).get("w_mean"),
                        "scan_level_p": (result.get("scan_level") or {}).get("p"),
                        "crossed_p": (result.get("crossed") or {}).get("p"),
                    }
                    for structure, result in ranking.items()
                ]
            ),
            "pairwise": pd.DataFrame(
                [
                    {"structure": structure, **pair}
                    for structure, result in ranking.items()
                    for pair in result["pairwise"]
                ],
                columns=["structure", "a", "b", "statistic", "p", "p_bonferroni", "p_adjusted"],
            ),
            "reader_agreement": pd.DataFrame(
                [
                    {"structure": structure, "set": set_id, **entry}
                    for structure, result in ranking.items()
                    for set_id, entry in (result.get("reader_agreement") or {}).get("w_by_set", {}).items()
                ],
                columns=["structure", "set", "readers", "w", "p"],
            ),
            "scan_level": pd.DataFrame(
                [
                    row
                    for structure, result in ranking.items()
                    if result.get("scan_level")
                    for row in _scan_rows(structure, result["scan_level"])
                ],
                columns=[
                    "structure",
                    "test",
                    "a",
                    "b",
                    "difference",
                    "p",
                    "p_adjusted",
                    "exact",
                    "permutations",
                    "mc_se",
                ],
            ),
            "incomplete": pd.DataFrame(
                [
                    {"structure": structure, **row}
                    for structure, result in ranking.items()
                    for row in result["incomplete"]
                ],
                columns=["structure", "reader", "set", "ranked", "missing"],
            ),
        }
    )
    posthoc = [
        {"structure": structure, **pair} for structure, result in ranking.items() for pair in result.get("posthoc", [])
    ]
    if posthoc:
        tables["posthoc"] = pd.DataFrame(posthoc)
    pathology = summary.get("pathology")
    if pathology:
        groups = [("overall", "all", pathology["overall"])]
        groups += [("truth", key, value) for key, value in pathology["by_truth"].items()]
        groups += [("source", key, value) for key, value in by_source_order(pathology["by_source"], reference).items()]
        tables["recognition"] = pd.DataFrame(
            [
                {
                    "group": group,
                    "value": key,
                    "n": r["n"],
                    "correct": r["correct"],
                    "accuracy": r["accuracy"],
                    "ci95_low": r["ci95"][0],
                    "ci95_high": r["ci95"][1],
                    "ci95_clustered_low": (r.get("ci95_clustered") or [None, None])[0],
                    "ci95_clustered_high": (r.get("ci95_clustered") or [None, None])[1],
                }
                for group, key, r in groups
            ]
        )
        tables["recognition_by_volume"] = pd.DataFrame(pathology["by_volume"])
    readers = summary.get("readers")
    if readers:
        experience, minutes = readers["experience"], readers["minutes"]
        tables["readers_summary"] = pd.DataFrame(
            [
                {
                    "readers": readers["count"],
                    "finished": readers["finished"],
                    "invited": readers.get("invited", readers["count"]),
                    "not_started": ", ".join(readers.get("not_started", [])),
                    "revoked": ", ".join(readers.get("revoked", [])),
                    "experience_n": experience["n"],
                    **{f"years_{key}": experience[key] for key in ("min", "median", "max", "mean")},
                    **{f"level_{level}": count for level, count in experience["by_level"].items()},
                    "minutes_n": minutes["n"],
                    "minutes_mean": minutes["mean"],
                    "minutes_sd": minutes["sd"],
                }
            ]
        )
    tables.update(_rating_tables(summary.get("rating")))
    tables.update(_discrimination_tables(summary.get("discrimination")))
    if summary.get("reading_time"):
        tables["reading_time"] = pd.DataFrame(summary["reading_time"])
    return tables


def _rating_tables(rating: dict | None) -> dict[str, pd.DataFrame]:
    """rating_by_source (scores and counts per source, the global test on the first row), rating_pairs and
    rating_agreement; none without rating answers."""
    if not rating or not rating.get("n_ratings"):
        return {}
    comparison = rating.get("comparison") or {}
    rows = [
        {
            "source": source,
            "n": r["n"],
            "scans": r["scans"],
            "mean": r["mean"],
            "median": r["median"],
            "sd": r["sd"],
            **{f"score_{score}": count for score, count in r["counts"].items()},
        }
        for source, r in rating["by_source"].items()
    ]
    agreement = {key: value for key, value in rating["agreement"].items() if not key.endswith("ci95")}
    for key in ("icc", "icc_average"):
        low, high = rating["agreement"][f"{key}_ci95"] or (None, None)
        agreement |= {f"{key}_ci95_low": low, f"{key}_ci95_high": high}
    return {
        "rating_by_source": pd.DataFrame(rows),
        "rating_pairs": pd.DataFrame(
            [
                {"test": "all sources", "p": comparison.get("p"), "exact": comparison.get("exact")},
                {"test": "all sources, readers and scans random (quasi-F)", "p": comparison["crossed"].get("p")},
                *({"test": "pair", **pair} for pair in comparison.get("pairwise", [])),
            ]
            if comparison
            else [],
            columns=["test", "a", "b", "difference", "p", "p_adjusted", "exact", "permutations"],
        ),
        "rating_agreement": pd.DataFrame([agreement]),
    }


def _discrimination_tables(result: dict | None) -> dict[str, pd.DataFrame]:
    """discrimination_accuracy (overall, then one row per source) and discrimination_by_reader; none without
    answers (not discrimination.csv: that is the export, which may sit in the same folder)."""
    if not result or not result.get("n_answers"):
        return {}
    overall = {
        "group": "overall",
        "value": "all",
        "n": result["n_answers"],
        "accuracy": result["accuracy"],
        "accuracy_ci95_low": result["accuracy_ci95"][0],
        "accuracy_ci95_high": result["accuracy_ci95"][1],
        "auc": result["auc"],
        "auc_ci95_low": (result["auc_ci95"] or [None, None])[0],
        "auc_ci95_high": (result["auc_ci95"] or [None, None])[1],
        "auc_p": result["auc_p"],
    }
    sources = [
        {
            "group": "source",
            "value": row["source"],
            "n": row["n"],
            "accuracy": row["accuracy"],
            "accuracy_ci95_low": row["accuracy_ci95"][0],
            "accuracy_ci95_high": row["accuracy_ci95"][1],
            "auc": row["auc_vs_real"],
            "auc_ci95_low": (row["auc_vs_real_ci95"] or [None, None])[0],
            "auc_ci95_high": (row["auc_vs_real_ci95"] or [None, None])[1],
        }
        for row in result["by_source"]
    ]
    return {
        "discrimination_accuracy": pd.DataFrame([overall, *sources]),
        "discrimination_by_reader": pd.DataFrame(result["by_reader"], columns=["reader", "n", "accuracy", "auc"]),
    }


def _scan_rows(structure: str, scan: dict) -> list[dict]:
    """scan_level.csv's rows of one structure: the global test, then each pair."""
    rows = [
        {
            "structure": structure,
            "test": "all sources",
            "p": scan["p"],
            "exact": scan["exact"],
            "permutations": scan["permutations"],
            "mc_se": scan["mc_se"],
        }
    ]
    for pair in scan["pairwise"]:
        rows.append(
            {
                "structure": structure,
                "test": "pair",
                **pair,
                "exact": scan["pairwise_exact"],
                "permutations": scan["pairwise_permutations"],
            }
        )
    return rows


def result_plots(summary: dict) -> dict[str, Callable[[Target], None]]:
    """The figures of `analyze`'s summary, keyed by PNG file name; each draws into a path or binary file object."""
    plots, reference = {}, summary.get("reference")
    if summary["ranking"]:
        plots["mean_ranks.png"] = partial(mean_ranks_plot, summary["ranking"], reference)
        plots["rank_frequencies.png"] = partial(rank_frequency_plot, summary["ranking"], reference=reference)
    if summary.get("pathology"):
        plots["recognition.png"] = partial(recognition_plot, summary["pathology"], reference=reference)
    if (summary.get("rating") or {}).get("n_ratings"):
        plots["ratings.png"] = partial(rating_plot, summary["rating"])
    if (summary.get("discrimination") or {}).get("n_answers"):
        plots["discrimination_roc.png"] = partial(roc_plot, summary["discrimination"])
    return plots


def write_results(
    summary: dict, out: str | Path, notes: pd.DataFrame | None = None, title: str = "Reader study"
) -> list[Path]:
    """Write summary.json, the CSV tables, notes.csv, report.md and the plots into out; returns the files written.

    Text cells of the CSV files are neutralised against spreadsheet formulas (`studies.analysis.spreadsheet`).

    Everything is rendered into a temporary folder first and moved into place only when all of it succeeded;
    then the files of `FILES` this run did not write (left by an earlier run, e.g. recognition.png of a run with
    pathology) are removed, so out never mixes two runs. Other files in out are never touched.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StudyError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".analysis-") as staging:
        staging = Path(staging)
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        for stem, table in result_tables(summary).items():
            neutralise_frame(table).to_csv(staging / f"{stem}.csv", index=False)
        if notes is not None:
            neutralise_frame(notes).to_csv(staging / "notes.csv", index=False)
        (staging / "report.md").write_text(report_markdown(summary, title), encoding="utf-8")
        for name, draw in result_plots(summary).items():
            draw(staging / name)
        written = []
        for path in sorted(staging.iterdir()):
            shutil.move(str(path), out / path.name)
            written.append(out / path.name)
    for name in FILES - {path.name for path in written}:
        if (out / name).is_file():
            (out / name).unlink()
    return written
