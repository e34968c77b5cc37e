"""PNG figures of the summary: mean ranks with p-values (paper Fig. 8), rank frequencies, recognition (Fig. 7),
realism scores per source, and the real-or-synthetic ROC curves.

Each function takes parts of the `analyze` result and a target (a path or a binary file-like object) and draws
with matplotlib's Agg canvas on its own Figure, so it is safe inside a web server (no pyplot state).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from studies.analysis.report import format_p
from studies.analysis.sources import source_order

Target = str | Path | BinaryIO


def mean_ranks_plot(ranking: dict, reference: str | None, target: Target) -> None:
    """Mean rank (± SD) per source (in `source_order`) for each structure, with the adjusted p of each source against
    the reference."""
    structures = list(ranking)
    sources = source_order((source for result in ranking.values() for source in result["mean_rank"]), reference)
    figure = Figure(figsize=(max(6.0, 2.4 * len(structures)), 4.2), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / len(sources)
    for i, source in enumerate(sources):
        x = np.arange(len(structures)) + (i - (len(sources) - 1) / 2) * width
        means = [ranking[s]["mean_rank"].get(source) or np.nan for s in structures]
        sds = [ranking[s]["sd_rank"].get(source) or 0.0 for s in structures]
        axes.bar(x, means, width, yerr=sds, capsize=2, label=source)
        for xi, mean, sd, structure in zip(x, means, sds, structures):
            p = _p_against(ranking[structure], reference, source)
            if p is not None and not np.isnan(mean):
                axes.text(xi, mean + sd + 0.05, format_p(p), ha="center", va="bottom", fontsize=7, rotation=90)
    k = max(len(result["mean_rank"]) for result in ranking.values())
    axes.set(
        xticks=range(len(structures)),
        xticklabels=structures,
        ylim=(0, k + 1.8),
        ylabel="mean rank (1 = best)",
        title="Mean rank per source" + (f" (p: Wilcoxon vs {reference}, adjusted)" if reference else ""),
    )
    axes.legend(fontsize=8, ncols=len(sources), loc="upper left")
    _save(figure, target)


def rank_frequency_plot(ranking: dict, target: Target, reference: str | None = None) -> None:
    """How often each source got each rank, one panel per structure, sources in `source_order`."""
    structures = list(ranking)
    figure = Figure(figsize=(4.2 * len(structures), 3.8), layout="constrained")
    for index, structure in enumerate(structures, start=1):
        axes = figure.add_subplot(1, len(structures), index)
        counts = ranking[structure]["rank_counts"]
        sources = source_order(counts, reference)
        ranks = sorted({int(r) for c in counts.values() for r in c})
        width = 0.8 / len(ranks)
        for j, rank in enumerate(ranks):
            x = np.arange(len(sources)) + (j - (len(ranks) - 1) / 2) * width
            axes.bar(x, [counts[s].get(str(rank), 0) for s in sources], width, label=f"rank {rank}")
        axes.set(xticks=range(len(sources)), title=structure, ylabel="rankings" if index == 1 else None)
        axes.set_xticklabels(sources, rotation=20, fontsize=8)
        axes.legend(fontsize=7)
    _save(figure, target)


def recognition_plot(pathology: dict, target: Target, reference: str | None = None) -> None:
    """Share of correct recognitions per true finding, one bar per source (in `source_order`), with the clustered
    95 % interval (reader × volume bootstrap) and correct/answers above each bar (paper Fig. 7, in proportions)."""
    cells = {(cell["truth"], cell["source"]): cell for cell in pathology.get("by_truth_source", [])}
    truths = sorted({truth for truth, _ in cells})
    sources = source_order((source for _, source in cells), reference)
    figure = Figure(figsize=(max(6.0, 1.6 * len(truths)), 4.0), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(sources))
    for i, source in enumerate(sources):
        x = np.arange(len(truths)) + (i - (len(sources) - 1) / 2) * width
        found = [cells.get((truth, source)) for truth in truths]
        shares = np.array([cell["accuracy"] if cell else np.nan for cell in found])
        low = np.array([cell["ci95_clustered"][0] if cell else np.nan for cell in found])
        high = np.array([cell["ci95_clustered"][1] if cell else np.nan for cell in found])
        errors = np.vstack([np.clip(shares - low, 0, None), np.clip(high - shares, 0, None)])
        axes.bar(x, shares, width, yerr=errors, capsize=2, label=source)
        for xi, cell, top in zip(x, found, high):
            if cell:
                axes.text(xi, top + 0.02, f"{cell['correct']}/{cell['n']}", ha="center", va="bottom", fontsize=7)
    axes.set(
        xticks=range(len(truths)),
        ylim=(0, 1.15),
        ylabel="share correct (95 % CI, clustered)",
        title="Correct recognitions per condition",
    )
    axes.set_xticklabels(truths, rotation=15, fontsize=8)
    axes.legend(fontsize=8)
    _save(figure, target)


def rating_plot(rating: dict, target: Target) -> None:
    """Share of each score per source (grouped bars), with each source's mean and n in the legend."""
    by_source = rating["by_source"]
    scores = list(range(1, rating["scale"] + 1))
    figure = Figure(figsize=(max(6.0, 0.9 * len(scores) * max(1, len(by_source)) / 2), 4.0), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(by_source))
    for i, (source, result) in enumerate(by_source.items()):
        x = np.arange(len(scores)) + (i - (len(by_source) - 1) / 2) * width
        shares = [result["counts"][str(score)] / result["n"] for score in scores]
        axes.bar(x, shares, width, label=f"{source} (mean {result['mean']:.2f}, n = {result['n']})")
    title = "Realism scores per source"
    if rating.get("comparison"):
        title += f" (scan-level permutation {format_p(rating['comparison']['p'])})"
    axes.set(xticks=range(len(scores)), xticklabels=scores, xlabel="score", ylabel="share of ratings", title=title)
    axes.legend(fontsize=8)
    _save(figure, target)


def roc_plot(discrimination: dict, target: Target) -> None:
    """Each reader's empirical ROC curve of the confidence-signed answers (synthetic positive), all answers pooled,
    and the chance diagonal; the study AUC (mean of the readers') with its interval in the title."""
    figure = Figure(figsize=(5.2, 5.0), layout="constrained")
    axes = figure.add_subplot()
    aucs = {row["reader"]: row["auc"] for row in discrimination["by_reader"]}
    for reader, curve in discrimination["roc"]["readers"].items():
        label = f"{reader} (AUC {aucs[reader]:.2f})" if aucs.get(reader) is not None else reader
        axes.plot(curve["fpr"], curve["tpr"], linewidth=1, alpha=0.6, label=label)
    pooled = discrimination["roc"]["pooled"]
    axes.plot(pooled["fpr"], pooled["tpr"], color="black", linewidth=2.2, label="all answers pooled")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    title = "Real or synthetic: ROC per reader"
    if discrimination.get("auc") is not None:
        low, high = discrimination["auc_ci95"]
        title += f"\nmean AUC {discrimination['auc']:.3f} ({low:.3f}–{high:.3f}), {format_p(discrimination['auc_p'])}"
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="real scans called synthetic (false-positive rate)",
        ylabel="synthetic scans called synthetic (true-positive rate)",
        title=title,
    )
    axes.legend(fontsize=7, loc="lower right")
    _save(figure, target)


def power_plot(curve: "dict[str, list[float]]", readers: list[int], target: Target, goal: float = 0.8) -> None:
    """Power of each test against the number of readers, with the goal as a dashed line."""
    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for name, power in curve.items():
        axes.plot(readers, power, marker="o", markersize=3, label=name)
    axes.axhline(goal, color="grey", linestyle="--", linewidth=1)
    axes.set(xlabel="readers", ylabel="power (p ≤ 0.05)", ylim=(0, 1.02), title="Power against the number of readers")
    axes.legend(fontsize=7)
    _save(figure, target)


def _p_against(result: dict, reference: str | None, source: str) -> float | None:
    """Adjusted p of source vs the reference within one structure; None for the reference itself."""
    for pair in result["pairwise"]:
        if {pair["a"], pair["b"]} == {reference, source} and reference != source:
            return pair.get("p_adjusted", pair["p_bonferroni"])
    return None


def _save(figure: Figure, target: Target) -> None:
    """Render the figure as PNG into the target."""
    FigureCanvasAgg(figure)
    figure.savefig(target, format="png", dpi=120)
