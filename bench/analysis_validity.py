"""Validity of the ranking analysis: how often each test rejects when no generator is better (type-I error), under
the null scenarios of issue 13, and how often it rejects under a stated effect (power).

Simulated with the power model of `studies.analysis.power` (perceived quality μ_j + reader preference u_{r,j} +
scan quality v_{s,j} shared by the set's readers + noise), on the paper's design (10 readers × 4 sets × 4 sources
per structure) unless told otherwise, with the very statistics `python -m studies analyze` reports:
Friedman and Wilcoxon pairs over (reader, set) blocks, the scan-level permutation tests, and the crossed quasi-F
test (readers and scans random). The scan-level test is exact here (all 24³ relabellings with the first set fixed)
for 4 sets, 2,000 Monte Carlo draws beyond. Pairs: the family-wise error, the share of studies with any pair at
adjusted p ≤ 0.05.

Then the same for the realism rating (3 sources × `--rated-scans` scans, every reader rating every scan on 5 points:
the scan-level permutation test of `studies.analysis.rating`) and for real or synthetic (`--told-scans` scans, half
real, every reader answering each: the Obuchowski–Rockette test of the mean AUC against 0.5 of
`studies.analysis.discrimination`), each under null scenarios with reader and scan random effects.

    .venv/bin/python -m bench analysis-validity [--studies 2000] [--readers 10] [--sets 4] [--rated-scans 6]
        [--told-scans 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studies.analysis.discrimination import case_df, jackknife_aucs, or_test  # noqa: E402
from studies.analysis.permutation import EXACT_LIMIT, permutation_p, permutation_plan  # noqa: E402
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
from studies.analysis.rating import between_sources, crossed_f, labellings  # noqa: E402

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

RATING_SOURCES = 3
RATING_DRAWS = 999
THRESHOLDS = np.array([-1.5, -0.5, 0.5, 1.5])
"""Cut points of the latent realism into 5 scores."""
# name: (source effect per step, reader severity SD, reader preference SD per source, scan SD)
RATING_SCENARIOS = {
    "null, pure": (0.0, 0.0, 0.0, 0.0),
    "null, reader severity SD 1.0": (0.0, 1.0, 0.0, 0.0),
    "null, scan quality SD 1.0": (0.0, 0.0, 0.0, 1.0),
    "null, reader severity 1.0 + scan 0.5": (0.0, 1.0, 0.0, 0.5),
    "null, reader preference SD 0.3 per source": (0.0, 0.0, 0.3, 0.5),
    "effect 0.5/step, reader 1.0 + scan 0.5": (0.5, 1.0, 0.0, 0.5),
}
# name: (truth effect, reader bias SD, reader skill SD around chance, scan SD)
DISCRIMINATION_SCENARIOS = {
    "null, pure": (0.0, 0.0, 0.0, 0.0),
    "null, reader bias SD 1.0": (0.0, 1.0, 0.0, 0.0),
    "null, scan look SD 1.0": (0.0, 0.0, 0.0, 1.0),
    "null, reader bias 0.5 + scan 0.5": (0.0, 0.5, 0.0, 0.5),
    "null, reader skill SD 0.5 around chance + scan 0.5": (0.0, 0.5, 0.5, 0.5),
    "effect 0.5, reader 0.5 + scan 0.5": (0.5, 0.5, 0.0, 0.5),
}


def rating_pvalues(
    studies: int, readers: int, scans: int, scenario: tuple[float, float, float, float], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """p of the scan-level permutation test and of the quasi-F test (readers and scans random) of `studies`
    simulated rating studies: latent realism = source effect + reader severity + reader preference for a source +
    scan quality + noise (SD 1), cut into 1..5."""
    effect, severity, preference, scan_sd = scenario
    codes = np.repeat(np.arange(RATING_SOURCES), scans)
    shuffled, exact = labellings(codes, RATING_DRAWS, int(rng.integers(2**31)))
    permuted, crossed = np.empty(studies), np.empty(studies)
    for study in range(studies):
        latent = (
            -effect * codes[None, :]
            + rng.normal(0, severity, (readers, 1))
            + rng.normal(0, preference, (readers, RATING_SOURCES))[:, codes]
            + rng.normal(0, scan_sd, (1, len(codes)))
            + rng.normal(0, 1, (readers, len(codes)))
        )
        scores = np.searchsorted(THRESHOLDS, latent) + 1.0
        means = scores.mean(axis=0)
        observed = between_sources(means, codes, RATING_SOURCES)
        permuted[study] = permutation_p(observed, between_sources(means, shuffled, RATING_SOURCES), exact)
        crossed[study] = crossed_f(scores.reshape(readers, RATING_SOURCES, scans))[3]
    return {"scan-level permutation": permuted, "quasi-F (readers, scans random)": crossed}


def discrimination_pvalues(
    studies: int, readers: int, scans: int, scenario: tuple[float, float, float, float], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """p of the OR test of mean AUC = 0.5 of `studies` simulated real-or-synthetic studies: evidence of synthesis =
    (effect + reader skill) on synthetic scans + reader bias + the scan's look + noise (SD 1); answer synthetic when
    positive, confidence 1–5 from its size."""
    effect, bias, skill, scan_sd = scenario
    synthetic = np.arange(scans) % 2 == 1
    p = np.empty(studies)
    for study in range(studies):
        evidence = (
            (effect + rng.normal(0, skill, (readers, 1))) * synthetic[None, :]
            + rng.normal(0, bias, (readers, 1))
            + rng.normal(0, scan_sd, (1, scans))
            + rng.normal(0, 1, (readers, scans))
        )
        signed = np.sign(evidence) * np.clip(np.ceil(np.abs(evidence) * 2), 1, 5)
        p[study] = or_test(*jackknife_aucs(signed, synthetic), case_df(synthetic))["p"]
    return {"OR test of mean AUC = 0.5": p}


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
    parser.add_argument("--readers", type=int, default=10, help="readers per simulated study (default 10)")
    parser.add_argument("--sets", type=int, default=4, help="ranking sets per simulated study (default 4)")
    parser.add_argument("--rated-scans", type=int, default=6, help="rated scans per source (default 6)")
    parser.add_argument("--told-scans", type=int, default=20, help="real-or-synthetic scans, half real (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (default 0)")
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
    for title, scenarios, simulate, scans in (
        (
            f"realism rating ({RATING_SOURCES} sources × {args.rated_scans} scans, permutation: {RATING_DRAWS} draws)",
            RATING_SCENARIOS,
            rating_pvalues,
            args.rated_scans,
        ),
        (
            f"real or synthetic ({args.told_scans} scans, half real)",
            DISCRIMINATION_SCENARIOS,
            discrimination_pvalues,
            args.told_scans,
        ),
    ):
        print(f"\n{title}, {args.readers} readers, {args.studies} studies per scenario")
        width = max(map(len, scenarios))
        for index, (name, scenario) in enumerate(scenarios.items()):
            rng = np.random.default_rng(args.seed + 100 + index)
            tests = simulate(args.studies, args.readers, scans, scenario, rng)
            if index == 0:
                print(f"{'scenario':<{width}}  " + "  ".join(tests))
            print(f"{name:<{width}}  " + "  ".join(f"{np.mean(p <= ALPHA):>{len(t)}.3f}" for t, p in tests.items()))
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
