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

First, the size table of the test the report presents as generalising (readers and sets like these:
`studies.analysis.crossed`): type-I error at α = 0.05 over `--size-studies` null studies per cell, sets 2, 3, 4, 8 ×
readers 5, 15 × balanced or 60 %-complete designs (each reader ranks each set with probability 0.6) × with and
without reader preference (SD 1) and shared scan quality (SD 1); beside it min F′ alone, the old quasi-F (complete
readers only, as it was computed) with the share of studies where it was undefined, and the power at 0.5 noise SDs
per source step. Scan-level p exact up to 4 sets, reader-level p up to 3 readers, 2,000 seeded draws beyond.

    .venv/bin/python -m bench analysis-validity [--size-studies 5000] [--studies 2000] [--readers 10] [--sets 4]
        [--rated-scans 6] [--told-scans 20] [--seed 0] [--only-size]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studies.analysis.crossed import crossed_f as quasi_f  # noqa: E402
from studies.analysis.crossed import generalising_p  # noqa: E402
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
    simulate_seen,
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


SIZE_SETS = (2, 3, 4, 8)
SIZE_READERS = (5, 15)
SIZE_COMPLETE = (1.0, 0.6)
# name: (reader_sd, scan_sd)
SIZE_SCENARIOS = {"none": (0.0, 0.0), "reader 1": (1.0, 0.0), "scan 1": (0.0, 1.0), "reader 1 + scan 1": (1.0, 1.0)}
SIZE_BAR = 0.06
SIZE_EXACT_LIMIT = 20_000
"""Permutation tests exact up to this many relabellings (up to 4 sets or 3 readers of 4 sources), else draws."""


def generalising_cell(
    sets: int, readers: int, complete: float, reader_sd: float, scan_sd: float, studies: int, seed: int
) -> dict[str, float]:
    """Type-I error of the generalising test, of min F′ alone and of the old quasi-F (its undefined share), and the
    generalising test's power at EFFECT, in one design."""
    rates = {}
    for label, effects in (("null", dict.fromkeys(SOURCES, 0.0)), ("effect", EFFECT)):
        design = Design(effects, readers, sets, reader_sd=reader_sd, scan_sd=scan_sd, complete=complete)
        rng = np.random.default_rng(seed)
        ranks, seen = simulate_ranks(design, studies, rng), simulate_seen(design, studies, rng)
        test = generalising_p(ranks, seen, exact_limit=SIZE_EXACT_LIMIT, draws=SIMULATION_PERMUTATIONS, seed=seed)
        if label == "effect":
            rates["power"] = float(np.mean(test["p"] <= ALPHA))
            continue
        rates["size"] = float(np.mean(test["p"] <= ALPHA))
        rates["min F′ alone"] = float(np.mean(test["p_min_f"] <= ALPHA))
        whole = seen.all(axis=-1)
        old = np.full(studies, np.nan)
        for count in np.unique(whole.sum(axis=-1)):
            if count >= 2:
                chosen = whole.sum(axis=-1) == count
                picked = ranks[chosen][whole[chosen]].reshape(int(chosen.sum()), int(count), sets, len(SOURCES))
                old[chosen] = quasi_f(picked)[3]
        rates["old quasi-F"] = float(np.mean(old[~np.isnan(old)] <= ALPHA)) if (~np.isnan(old)).any() else np.nan
        rates["old undefined"] = float(np.mean(np.isnan(old)))
    return rates


def size_table(studies: int, seed: int) -> None:
    """Print the size table (markdown), one row per design, as each is simulated."""
    columns = ["size", "min F′ alone", "old quasi-F", "old undefined", "power"]
    lines = [
        "| sets | readers | design | null | generalising | " + " | ".join(columns[1:]) + " |",
        "|---:|---:|---|---|---:|" + "---:|" * (len(columns) - 1),
    ]
    print("\n".join(lines), flush=True)
    worst = 0.0
    for sets in SIZE_SETS:
        for readers in SIZE_READERS:
            for complete in SIZE_COMPLETE:
                for index, (name, (reader_sd, scan_sd)) in enumerate(SIZE_SCENARIOS.items()):
                    cell = seed + 1000 * sets + 10 * readers + index + (500 if complete < 1 else 0)
                    rates = generalising_cell(sets, readers, complete, reader_sd, scan_sd, studies, cell)
                    worst = max(worst, rates["size"])
                    design = "balanced" if complete >= 1 else f"{complete:.0%} complete"
                    values = " | ".join("–" if np.isnan(rates[c]) else f"{rates[c]:.3f}" for c in columns)
                    print(f"| {sets} | {readers} | {design} | {name} | {values} |", flush=True)
    se = (ALPHA * (1 - ALPHA) / studies) ** 0.5
    print(
        f"\n{studies} null studies per cell (Monte Carlo SE of a rate near α: {se:.4f}); largest type-I error of the "
        f"generalising test {worst:.3f} ({'within' if worst <= SIZE_BAR else 'ABOVE'} the {SIZE_BAR} bar); power at "
        + ", ".join(f"{s} {v:+g}" for s, v in EFFECT.items())
    )


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
    """p of the OR test of mean AUC = 0.5 (Hillis' df, and the earlier Satterthwaite df) of `studies` simulated
    real-or-synthetic studies: evidence of synthesis =
    (effect + reader skill) on synthetic scans + reader bias + the scan's look + noise (SD 1); answer synthetic when
    positive, confidence 1–5 from its size."""
    effect, bias, skill, scan_sd = scenario
    synthetic = np.arange(scans) % 2 == 1
    p, p_satterthwaite = np.empty(studies), np.empty(studies)
    for study in range(studies):
        evidence = (
            (effect + rng.normal(0, skill, (readers, 1))) * synthetic[None, :]
            + rng.normal(0, bias, (readers, 1))
            + rng.normal(0, scan_sd, (1, scans))
            + rng.normal(0, 1, (readers, scans))
        )
        signed = np.sign(evidence) * np.clip(np.ceil(np.abs(evidence) * 2), 1, 5)
        test = or_test(*jackknife_aucs(signed, synthetic), case_df(synthetic))
        p[study], p_satterthwaite[study] = test["p"], test["p_satterthwaite"]
    return {"OR test, Hillis df": p, "OR test, Satterthwaite df": p_satterthwaite}


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
        "generalising (min F′ ∩ scan-level)": float(np.mean(permuted[CROSSED] <= ALPHA)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=2000, help="simulated studies per scenario")
    parser.add_argument("--readers", type=int, default=10, help="readers per simulated study (default 10)")
    parser.add_argument("--sets", type=int, default=4, help="ranking sets per simulated study (default 4)")
    parser.add_argument("--rated-scans", type=int, default=6, help="rated scans per source (default 6)")
    parser.add_argument("--told-scans", type=int, default=20, help="real-or-synthetic scans, half real (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (default 0)")
    parser.add_argument("--size-studies", type=int, default=5000, help="null studies per cell of the size table")
    parser.add_argument("--only-size", action="store_true", help="print the size table only")
    args = parser.parse_args()
    start = time.perf_counter()
    print(
        f"generalising test (readers and sets random), type-I error at α = {ALPHA}, {len(SOURCES)} sources; "
        "reader preference and shared scan quality SD 1 noise SD"
    )
    size_table(args.size_studies, args.seed)
    if args.only_size:
        print(f"({time.perf_counter() - start:.1f} s)")
        return 0
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
