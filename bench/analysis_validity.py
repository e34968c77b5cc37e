"""Validity of the ranking analysis: how often each test rejects when no generator is better (type-I error), under
the null scenarios of issue 13, and how often it rejects under a stated effect (power).

Simulated with the power model of `studies.analysis.power` (perceived quality μ_j + reader preference u_{r,j} +
scan quality v_{s,j} shared by the set's readers + noise), on the paper's design (10 readers × 4 sets × 4 sources
per structure) unless told otherwise, with the very statistics `python -m studies analyze` reports:
Friedman and Wilcoxon pairs over (reader, set) blocks, the scan-level permutation tests, and the crossed quasi-F
test (readers and scans random). The scan-level test is exact here (all 24³ relabellings with the first set fixed)
for 4 sets, 2,000 Monte Carlo draws beyond. Pairs: the family-wise error, the share of studies with any pair at
adjusted p ≤ 0.05.

    .venv/bin/python -m bench analysis-validity [--studies 2000] [--readers 10] [--sets 4] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studies.analysis.permutation import EXACT_LIMIT, permutation_plan  # noqa: E402
from studies.analysis.power import (  # noqa: E402
    ALPHA,
    CROSSED,
    SCAN_LEVEL,
    SIMULATION_PERMUTATIONS,
    Design,
    block_ranks,
    scan_level_pvalues,
    simulate_ranks,
    study_pvalues,
)

SOURCES = ["real", "medsyn", "ha-gan", "medical-diffusion"]
EFFECT = {"real": 0.0, "medsyn": -0.5, "ha-gan": -1.0, "medical-diffusion": -1.5}
# name: (effects, reader_sd, scan_sd)
SCENARIOS = {
    "null, pure": (None, 0.0, 0.0),
    "null, reader preference SD 0.5": (None, 0.5, 0.0),
    "null, shared scan quality SD 0.5": (None, 0.0, 0.5),
    "null, shared scan quality SD 1.0": (None, 0.0, 1.0),
    "null, reader 0.5 + scan 0.5": (None, 0.5, 0.5),
    "null, reader preference SD 1.0": (None, 1.0, 0.0),
    "effect 0.5/step, reader 0.5 + scan 0.5": (EFFECT, 0.5, 0.5),
}


def rejection_rates(ranks: np.ndarray, seed: int) -> dict[str, float]:
    """Share of studies each test rejects at α: global tests, and any pair (family-wise) of the pairwise tests."""
    pooled = study_pvalues(block_ranks(ranks, "set"), SOURCES)
    exact, _ = permutation_plan(ranks.shape[2], len(SOURCES))
    permuted = scan_level_pvalues(
        ranks, SOURCES, permutations=EXACT_LIMIT if exact else SIMULATION_PERMUTATIONS, seed=seed
    )
    pooled_pairs = np.stack([p for name, p in pooled.items() if name != "Friedman"], axis=-1)
    scan_pairs = np.stack([p for name, p in permuted.items() if name not in (SCAN_LEVEL, CROSSED)], axis=-1)
    return {
        "Friedman (pooled)": float(np.mean(pooled["Friedman"] <= ALPHA)),
        "Wilcoxon pairs (pooled, any)": float(np.mean((pooled_pairs <= ALPHA).any(axis=-1))),
        "scan-level permutation": float(np.mean(permuted[SCAN_LEVEL] <= ALPHA)),
        "scan-level pairs (any)": float(np.mean((scan_pairs <= ALPHA).any(axis=-1))),
        "crossed quasi-F": float(np.mean(permuted[CROSSED] <= ALPHA)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=2000, help="simulated studies per scenario")
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--sets", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = {}
    for index, (name, (effects, reader_sd, scan_sd)) in enumerate(SCENARIOS.items()):
        effects = effects or dict.fromkeys(SOURCES, 0.0)
        design = Design(effects, args.readers, args.sets, reader_sd=reader_sd, scan_sd=scan_sd)
        ranks = simulate_ranks(design, args.studies, np.random.default_rng(args.seed + index))
        rows[name] = rejection_rates(ranks, args.seed)
    tests = list(next(iter(rows.values())))
    se = (ALPHA * (1 - ALPHA) / args.studies) ** 0.5
    print(
        f"{args.readers} readers × {args.sets} sets × {len(SOURCES)} sources, {args.studies} simulated studies per "
        f"scenario, α = {ALPHA} (Monte Carlo SE of a rate near α: {se:.4f}); effect: "
        + ", ".join(f"{s} {v:+g}" for s, v in EFFECT.items())
    )
    width = max(map(len, rows))
    print(f"{'scenario':<{width}}  " + "  ".join(f"{test:>{max(8, len(test))}}" for test in tests))
    for name, rates in rows.items():
        print(f"{name:<{width}}  " + "  ".join(f"{rates[test]:>{max(8, len(test))}.3f}" for test in tests))
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
