"""Reader-study statistics over the export tables (DESIGN.md, Exports): `analyze` and `power`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from studies.analysis.blocks import BLOCKINGS
from studies.analysis.pairwise import POSTHOCS
from studies.analysis.plots import power_plot
from studies.analysis.power import (
    GOAL,
    Design,
    default_effects,
    effects_from_mean_ranks,
    parse_effects,
    power_curve,
    smallest_readers,
)
from studies.analysis.recognition import notes
from studies.analysis.results import write_results
from studies.analysis.summary import analyze
from studies.analysis.tables import read_pathology, read_rankings, read_readers
from studies.cli import Command
from studies.errors import StudyError


def _analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `analyze`."""
    parser.add_argument("--rankings", required=True, type=Path, help="rankings.csv exported by the platform")
    parser.add_argument("--pathology", type=Path, help="pathology.csv (recognition answers)")
    parser.add_argument("--readers", type=Path, help="readers.csv (experience, minutes)")
    parser.add_argument("--reference", help="source to compare against in plots and report (default: real, if ranked)")
    parser.add_argument(
        "--blocks",
        choices=BLOCKINGS,
        default="set",
        help="one block per (reader, set) ranking (default) or per reader (ranks averaged over sets)",
    )
    parser.add_argument("--posthoc", choices=POSTHOCS, help="also run this Friedman post-hoc test (scikit-posthocs)")
    parser.add_argument("--title", default="Reader study", help="heading of report.md")
    parser.add_argument("--out", required=True, type=Path, help="folder for summary.json, tables, report.md, plots")


def _analyze(args: argparse.Namespace) -> int:
    """Read, analyse, write; print what was written."""
    rankings = read_rankings(args.rankings)
    pathology = read_pathology(args.pathology) if args.pathology else None
    readers = read_readers(args.readers) if args.readers else None
    summary = analyze(rankings, pathology, readers, reference=args.reference, blocks=args.blocks, posthoc=args.posthoc)
    written = write_results(summary, args.out, notes(pathology) if pathology is not None else None, args.title)
    for structure, result in summary["ranking"].items():
        f = result["friedman"]
        line = f"{structure}: {result['n_blocks']} complete rankings"
        if result["n_incomplete"]:
            line += f", {result['n_incomplete']} incomplete left out"
        if f:
            line += (
                f"; Friedman χ²({f['df']}) = {f['statistic']:.3f}, p = {f['p']:.4g}; W = {result['kendall_w']['w']:.3f}"
            )
        if result.get("posthoc_skipped"):
            line += f"; {result['posthoc_skipped']}"
        print(line)
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def _power_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `power`."""
    parser.add_argument("--sources", help="comma-separated sources, best expected first (default: from --from)")
    parser.add_argument("--readers", type=int, default=10, help="readers you plan to recruit (default 10)")
    parser.add_argument("--sets", type=int, default=4, help="sets per structure each reader ranks (default 4)")
    parser.add_argument(
        "--effect",
        help="latent quality per source in noise SDs, e.g. real=1,medsyn=0.5,ha-gan=0 "
        "(default: each source 0.5 below the previous)",
    )
    parser.add_argument("--from", dest="pilot", type=Path, help="summary.json of a pilot: effects from its mean ranks")
    parser.add_argument("--structure", help="structure of the pilot summary to take (default: the first)")
    parser.add_argument("--blocks", choices=BLOCKINGS, default="set", help="blocks as in `analyze` (default: set)")
    parser.add_argument("--reader-sd", type=float, default=0.0, help="SD of a reader's lasting preference per source")
    parser.add_argument("--simulations", type=int, default=1000, help="simulated studies per design (default 1000)")
    parser.add_argument("--max-readers", type=int, default=30, help="largest reader count searched (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, help="folder for power.csv and power.png")


def _power(args: argparse.Namespace) -> int:
    """Simulate, print power per test at the planned size and the readers needed for 80 %."""
    if args.readers < 2 or args.sets < 1 or args.simulations < 1 or args.max_readers < 2:
        raise StudyError("--readers and --max-readers must be at least 2, --sets and --simulations at least 1")
    effects = _effects(args)
    design = Design(effects, args.readers, args.sets, args.blocks, args.reader_sd)
    counts = list(range(2, max(args.max_readers, args.readers) + 1))
    curve = power_curve(design, counts, args.simulations, args.seed)
    planned = {name: values[counts.index(args.readers)] for name, values in curve.items()}
    needed = smallest_readers(curve, counts)
    print("effects: " + ", ".join(f"{source} {value:+.2f}" for source, value in effects.items()))
    print(f"{args.readers} readers × {args.sets} sets, {args.simulations} simulated studies, seed {args.seed}")
    width = max(len(name) for name in planned)
    print(f"{'test':<{width}}  power  readers for {GOAL:.0%}")
    for name, value in planned.items():
        reach = needed[name] if needed[name] is not None else f"> {counts[-1]}"
        print(f"{name:<{width}}  {value:5.3f}  {reach}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"readers": counts, **curve}).to_csv(args.out / "power.csv", index=False)
        power_plot(curve, counts, args.out / "power.png", GOAL)
        print(f"wrote power.csv and power.png to {args.out}")
    return 0


def _effects(args: argparse.Namespace) -> dict[str, float]:
    """Effects from --from (a pilot's mean ranks), --effect, or the default ladder, for the chosen sources."""
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    if args.pilot:
        mean_rank = _pilot_mean_ranks(args.pilot, args.structure)
        effects = effects_from_mean_ranks(mean_rank)
        if sources:
            missing = [source for source in sources if source not in effects]
            if missing:
                raise StudyError(f"{args.pilot}: no mean rank for {', '.join(missing)}")
            effects = {source: effects[source] for source in sources}
        return effects
    if not sources or len(sources) < 2:
        raise StudyError("give at least two --sources (or a pilot summary with --from)")
    return parse_effects(args.effect, sources) if args.effect else default_effects(sources)


def _pilot_mean_ranks(path: Path, structure: str | None) -> dict[str, float]:
    """The mean ranks of one structure from a pilot's summary.json."""
    try:
        ranking = json.loads(path.read_text(encoding="utf-8"))["ranking"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StudyError(f"{path}: not a summary.json written by `analyze` ({error})") from None
    if not ranking:
        raise StudyError(f"{path}: the summary has no ranked structure")
    name = structure or next(iter(ranking))
    if name not in ranking:
        raise StudyError(f"{path}: no structure {name!r} (has: {', '.join(ranking)})")
    return ranking[name]["mean_rank"]


COMMANDS: dict[str, Command] = {
    "analyze": Command(
        help="statistics of a reader study from its export CSVs",
        description="Mean ranks, Friedman test, Bonferroni-corrected Wilcoxon pairs and Kendall's W per structure; "
        "recognition accuracy with Wilson intervals; writes summary.json, CSV tables, report.md, PNGs.",
        add_arguments=_analyze_arguments,
        run=_analyze,
    ),
    "power": Command(
        help="simulated power of a planned ranking study",
        description="How likely the Friedman test and each Bonferroni-corrected pair reach p ≤ 0.05 with this many "
        "readers and sets, under a latent-quality model; and the smallest reader count for 80 %.",
        add_arguments=_power_arguments,
        run=_power,
    ),
}
