"""Prompt experiments (paper Tables II–IV): does the report move the anatomy the way it says, and by how much?

PAIRS.toml holds [[pair]] tables: `name` (letters, digits, '-', '_'), `measure` (effusion_ml, ctr, laa950_percent
or airway_mm3), `positive` (a prompt expected to raise the measure, "There are large pleural effusions.") and
`negative` ("There is no pleural effusion."). Both prompts are sampled with the same seeds (seed, …, seed + n − 1):
each positive volume starts from the same noise as one negative volume, so paired noise makes the comparison sharper
— the difference between the prompts is not blurred by noise-to-noise variation. The measure is taken from the CT
alone (`metrics.anatomy.measure`, rule-based masks), as for the volumes of other generators.

The test is the one-tailed Welch two-sample t-test (unequal variances) that the positive prompt's mean is greater,
`scipy.stats.ttest_ind(positive, negative, alternative="greater", equal_var=False)`. Departure from the paper, which
names a one-tailed two-sample t-test without saying which: Welch's, because a prompt may change the spread as well
as the mean. It ignores the pairing by seed, which makes it conservative when volumes sharing a seed are alike.

Output: results.csv (pair, prompt, side, seed, value), summary.json and summary.md (per pair: mean ± sd per prompt,
difference, t, df, one-tailed p, p < 0.05), prompt-experiment.png, and with `keep_volumes` the case folders under
cases/<pair>-<side>-seed<seed>/.
"""

from __future__ import annotations

import csv
import json
import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import ttest_ind
from tqdm import tqdm

from generator.data.cases import Case, write_case
from generator.metrics.anatomy import MEASURES, measure
from generator.metrics.plots import LABELS  # also selects matplotlib's file-only backend
from generator.prompt_files import read_prompt_file
from generator.text.sections import parse_report

SIDES = ("positive", "negative")
RESULT_COLUMNS = ("pair", "prompt", "side", "seed", "value")
PAIR_KEYS = {"name", "measure", "positive", "negative"}
NAME = re.compile(r"[A-Za-z0-9_-]+")
ALPHA = 0.05
TEST = "one-tailed Welch two-sample t-test, H1: mean(positive) > mean(negative)"


@dataclass(frozen=True)
class PromptPair:
    """One [[pair]] of PAIRS.toml: the measure and the prompts expected to raise it (positive) or not (negative)."""

    name: str
    measure: str
    positive: str
    negative: str


def read_pairs(path: Path) -> list[PromptPair]:
    """The checked [[pair]] tables of a PAIRS.toml; PromptFileError names the file and key of any problem."""
    file = read_prompt_file(path)
    file.known_keys(file.raw, {"pair"}, "top level")
    tables = file.tables("pair")
    if not tables:
        raise file.fail("[[pair]]", "no pairs: add [[pair]] tables with name, measure, positive and negative")
    pairs: list[PromptPair] = []
    for number, table in enumerate(tables, start=1):
        where = f"[[pair]] #{number}"
        file.known_keys(table, PAIR_KEYS, where)
        name = file.text(table, "name", where)
        where = f"[[pair]] {name!r}"
        if not NAME.fullmatch(name):
            raise file.fail(where, "'name' may hold only letters, digits, '-' and '_' (it names files)")
        if any(pair.name == name for pair in pairs):
            raise file.fail(where, "duplicate name (each [[pair]] needs its own name)")
        metric = file.text(table, "measure", where)
        if metric not in MEASURES:
            raise file.fail(where, f"unknown measure {metric!r} (one of {', '.join(MEASURES)})")
        pairs.append(PromptPair(name, metric, file.text(table, "positive", where), file.text(table, "negative", where)))
    return pairs


def welch_greater(positive: Sequence[float], negative: Sequence[float]) -> dict[str, float | None]:
    """t, df and one-tailed p of Welch's test that mean(positive) > mean(negative) (None where undefined).

    t = (x̄₁ − x̄₂) / √(s₁²/n₁ + s₂²/n₂); df = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁−1) + (s₂²/n₂)²/(n₂−1))
    (Welch–Satterthwaite); p = P(T_df ≥ t). Welch, B. L. (1947), Biometrika 34, 28–35.
    """
    result = ttest_ind(positive, negative, alternative="greater", equal_var=False)
    if _finite(result.statistic) is None:  # both samples constant (or too small): no test, whatever df scipy reports
        return {"t": None, "df": None, "p": None}
    return {"t": float(result.statistic), "df": _finite(result.df), "p": _finite(result.pvalue)}


def summarise_pair(pair: PromptPair, rows: list[dict]) -> dict:
    """Mean ± sd per prompt, their difference and the Welch test of one pair's result rows."""
    values = {side: [r["value"] for r in rows if r["pair"] == pair.name and r["side"] == side] for side in SIDES}
    test = welch_greater(values["positive"], values["negative"])
    sides = {
        side: {
            "prompt": getattr(pair, side),
            "n": len(values[side]),
            "mean": float(np.mean(values[side])),
            "sd": float(np.std(values[side], ddof=1)) if len(values[side]) > 1 else None,
        }
        for side in SIDES
    }
    difference = sides["positive"]["mean"] - sides["negative"]["mean"]
    return {
        "pair": pair.name,
        "measure": pair.measure,
        **sides,
        "difference": difference,
        "test": TEST,
        **test,
        "significant": test["p"] is not None and test["p"] < ALPHA,
    }


def run_experiment(
    pairs: list[PromptPair],
    out: Path,
    *,
    n: int,
    seed: int,
    cases: Callable[[list[str], list[int]], Iterable[Case]],
    keep_volumes: bool = False,
) -> list[dict]:
    """Sample n volumes per prompt with `cases(prompts, seeds)`, measure them and write results.csv, summary.json,
    summary.md and prompt-experiment.png into `out` (and the case folders under out/cases/ with `keep_volumes`);
    return the per-pair summaries."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(seed, seed + n))
    rows: list[dict] = []
    with tqdm(total=len(pairs) * len(SIDES) * n, desc="prompt experiment", unit="volume") as bar:
        for pair in pairs:
            for side in SIDES:
                prompt = getattr(pair, side)
                for case in cases([prompt] * n, seeds):
                    value = measure(case.ct.astype(np.float32), case.spacing)[pair.measure]
                    rows.append(
                        {"pair": pair.name, "prompt": prompt, "side": side, "seed": case.meta["seed"], "value": value}
                    )
                    if keep_volumes:
                        write_case(case, out / "cases" / f"{pair.name}-{side}-seed{case.meta['seed']}")
                    bar.update(1)
    summaries = [summarise_pair(pair, rows) for pair in pairs]
    _write_results(rows, out / "results.csv")
    (out / "summary.json").write_text(json.dumps({"n": n, "seed": seed, "alpha": ALPHA, "pairs": summaries}, indent=2))
    (out / "summary.md").write_text(summary_table(summaries))
    plot_pairs(rows, summaries, out / "prompt-experiment.png")
    return summaries


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


def _write_results(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _finite(value: float) -> float | None:
    """A float, or None for NaN and infinities (JSON has neither; the t-test gives NaN when both sds are 0)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _mean_sd(side: dict) -> str:
    return f"{_number(side['mean'])} ± {_number(side['sd'])}"
