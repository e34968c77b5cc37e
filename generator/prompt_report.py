"""What a prompt experiment writes: results.csv (one row per volume), summary.md (a Markdown table) and
prompt-experiment.png (one panel per pair: box plots with every volume as a jittered point)."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import numpy as np

from generator.metrics.plots import LABELS, pyplot
from generator.prompt_statistics import ALPHA, SIDES, TEST
from generator.text.sections import parse_report

RESULT_COLUMNS = ("pair", "prompt", "side", "seed", "value")


def summary_table(summaries: list[dict]) -> str:
    """A Markdown table of the summaries (one row per pair), followed by the prompts."""
    lines = [
        f"Test: {TEST}; significant when p < {ALPHA}.",
        "",
        "| pair | measure | positive (mean ± sd) | negative (mean ± sd) | difference | t | df | p | p < 0.05 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        cells = [
            s["pair"],
            s["measure"],
            _mean_sd(s["positive"]),
            _mean_sd(s["negative"]),
            _number(s["difference"]),
            _number(s["t"]),
            _number(s["df"]),
            _number(s["p"]),
            "yes" if s["significant"] else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [
        f"- {s['pair']}: positive “{s['positive']['prompt']}” (n = {s['positive']['n']}), "
        f"negative “{s['negative']['prompt']}” (n = {s['negative']['n']})"
        for s in summaries
    ]
    return "\n".join(lines) + "\n"


def plot_pairs(rows: list[dict], summaries: list[dict], path: Path) -> Path:
    """One panel per pair: box plots of the two prompts' values with every volume drawn as a jittered point."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(summaries), figsize=(3.6 * len(summaries), 3.6), dpi=120, squeeze=False)
    jitter = np.random.default_rng(0)
    for ax, s in zip(axes[0], summaries):
        values = [[r["value"] for r in rows if r["pair"] == s["pair"] and r["side"] == side] for side in SIDES]
        ax.boxplot(values, widths=0.5, showfliers=False)
        for i, v in enumerate(values, start=1):
            ax.plot(i + jitter.uniform(-0.12, 0.12, len(v)), v, "o", color=f"C{i - 1}", alpha=0.6, markersize=3)
        ticks = [f"{side}\n{textwrap.fill(_gist(s[side]['prompt']), 24)}" for side in SIDES]
        ax.set_xticks([1, 2], ticks, fontsize=7)
        ax.set_ylabel(LABELS.get(s["measure"], s["measure"]))
        ax.set_title(f"{s['pair']}\nΔ = {_number(s['difference'])}, p = {_number(s['p'])}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _gist(prompt: str) -> str:
    """What a tick label can hold of a prompt: its Impression when it has one (the Findings repeat it), else all."""
    return parse_report(prompt).impression or prompt


def write_results(rows: list[dict], path: Path) -> None:
    """results.csv: pair, prompt, side, seed and measured value of every volume."""
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _mean_sd(side: dict) -> str:
    return f"{_number(side['mean'])} ± {_number(side['sd'])}"
