"""Prompt experiments (paper Tables II–IV): does the report move the anatomy the way it says, and by how much?

For each pair of PAIRS.toml (`generator.prompt_pairs`) both prompts are sampled with the same seeds (seed, …,
seed + n − 1): each positive volume starts from the same noise as one negative volume, so paired noise makes the
comparison sharper — the difference between the prompts is not blurred by noise-to-noise variation. The measure is
taken from the CT alone (`metrics.anatomy.measure`, rule-based masks), as for the volumes of other generators, and
tested by `generator.prompt_statistics`; `generator.prompt_report` writes the table and the plot.

Output: results.csv (pair, prompt, side, seed, value), summary.json and summary.md (per pair: mean ± sd per prompt,
difference, t, df, one-tailed p, p < 0.05), prompt-experiment.png, and with `keep_volumes` the case folders under
cases/<pair>-<side>-seed<seed>/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from tqdm import tqdm

from generator.data.cases import Case, write_case
from generator.metrics.anatomy import ROBUST_MEASURES, measure
from generator.prompt_pairs import PromptPair
from generator.prompt_report import plot_pairs, summary_table, write_results
from generator.prompt_statistics import ALPHA, SIDES, summarise_pair


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
                    value = measure_case(case, pair.measure)
                    rows.append(
                        {"pair": pair.name, "prompt": prompt, "side": side, "seed": case.meta["seed"], "value": value}
                    )
                    if keep_volumes:
                        write_case(case, out / "cases" / f"{pair.name}-{side}-seed{case.meta['seed']}")
                    bar.update(1)
    summaries = [summarise_pair(pair, rows) for pair in pairs]
    write_results(rows, out / "results.csv")
    (out / "summary.json").write_text(json.dumps({"n": n, "seed": seed, "alpha": ALPHA, "pairs": summaries}, indent=2))
    (out / "summary.md").write_text(summary_table(summaries))
    plot_pairs(rows, summaries, out / "prompt-experiment.png")
    return summaries


def measure_case(case: Case, name: str) -> float:
    """One anatomy measure of a case's CT (the robust ones computed only when asked for)."""
    return measure(case.ct.astype(np.float32), case.spacing, robust=name in ROBUST_MEASURES)[name]
