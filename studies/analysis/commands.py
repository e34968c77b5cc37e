"""Reader-study statistics over the export tables (docs/architecture.md, Exports): `analyze` and `power`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from contracts.study_format import STUDY_FILE, slugify
from studies.analysis.adjust import FAMILIES, METHODS
from studies.analysis.blocks import BLOCKINGS
from studies.analysis.design import DESIGN_FILE, design_from_study
from studies.analysis.endpoints import PLAN_FILE, plan_document, read_plan
from studies.analysis.export_checks import check_one_study, reader_id, split_by_study, studies_in
from studies.analysis.notes import notes
from studies.analysis.pairwise import POSTHOCS
from studies.analysis.pilot import estimate_from_pilot
from studies.analysis.plots import power_plot
from studies.analysis.power import (
    ALPHA,
    CROSSED,
    GOAL,
    PLAN_READERS,
    SCAN_LEVEL,
    Design,
    cheapest_plan,
    default_effects,
    effects_from_mean_ranks,
    generalising_grid,
    parse_effects,
    plan_rationale,
    power_curve,
    sets_curve,
    smallest_count,
)
from studies.analysis.report import discrimination_line, plan_line, rating_line
from studies.analysis.results import write_results
from studies.analysis.summary import analyze
from studies.analysis.tables import (
    read_design,
    read_discrimination,
    read_pathology,
    read_rankings,
    read_ratings,
    read_readers,
    read_table,
)
from studies.bundle import load_study, study_plan
from studies.cli import Command
from studies.errors import StudyError

ANSWER_TASKS = ("rankings", "recognition", "rating", "discrimination")


def _analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `analyze`."""
    parser.add_argument(
        "--export", type=Path, help="an export folder: its answer CSVs, readers.csv, design.csv and plan.json"
    )
    parser.add_argument("--rankings", type=Path, help="rankings.csv exported by the platform")
    parser.add_argument("--pathology", type=Path, help="pathology.csv (recognition answers)")
    parser.add_argument("--ratings", type=Path, help="ratings.csv (realism ratings)")
    parser.add_argument("--discrimination", type=Path, help="discrimination.csv (real-or-synthetic answers)")
    parser.add_argument("--readers", type=Path, help="readers.csv (experience, minutes)")
    parser.add_argument("--reference", help="source to compare against in plots and report (default: real, if ranked)")
    parser.add_argument(
        "--blocks",
        choices=BLOCKINGS,
        default="set",
        help="one block per (reader, set) ranking (default) or per reader (ranks averaged over sets)",
    )
    parser.add_argument("--posthoc", choices=POSTHOCS, help="also run this Friedman post-hoc test (scikit-posthocs)")
    design = parser.add_mutually_exclusive_group()
    design.add_argument("--design", type=Path, help="design.csv exported with the answers: answers must fit it")
    design.add_argument("--study", type=Path, help="the bundle's study.json (or its folder), as the design")
    parser.add_argument(
        "--plan",
        type=Path,
        help="plan.json exported with the answers (default: the one beside them, else study.json's with --study, "
        "else the documented defaults)",
    )
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        help="pairs corrected together: each structure's, or all structures' pairs (default: the plan's; another "
        "is a deviation the report names)",
    )
    parser.add_argument(
        "--adjust", choices=METHODS, help="multiple-comparison adjustment (default: the plan's correction)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of Monte Carlo permutations and bootstraps")
    parser.add_argument("--title", default="Reader study", help="heading of report.md")
    parser.add_argument(
        "--each-study",
        action="store_true",
        help="an export holding several studies (its study column): analyse each into OUT/<study>/ (default: refuse)",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for summary.json, tables, report.md, plots")


EXPORT_FILES = {
    "rankings": "rankings.csv",
    "pathology": "pathology.csv",
    "ratings": "ratings.csv",
    "discrimination": "discrimination.csv",
    "readers": "readers.csv",
}


def _export_files(args: argparse.Namespace) -> Path | None:
    """Fill the file options from --export (those given stay); the folder whose design.csv and plan.json count."""
    if args.export is not None:
        if not args.export.is_dir():
            raise StudyError(f"{args.export}: not a folder (--export takes the folder the platform exported)")
        for option, name in EXPORT_FILES.items():
            if getattr(args, option) is None and (args.export / name).is_file():
                setattr(args, option, args.export / name)
        return args.export
    given = [getattr(args, option) for option in EXPORT_FILES if getattr(args, option) is not None]
    return given[0].parent if given else None


def _plan(args: argparse.Namespace, folder: Path | None, design) -> dict | None:
    """The plan document: --plan, plan.json beside the answers, study.json's plan with --study, else None."""
    sources = set(design.rows["source"]) if design is not None else None
    path = args.plan or (folder / PLAN_FILE if folder is not None and (folder / PLAN_FILE).is_file() else None)
    if path is not None:
        return read_plan(path, sources)
    if args.study:
        study_file = args.study if args.study.is_file() else args.study / STUDY_FILE
        return plan_document(study_plan(load_study(study_file.parent, verify_files=False), study_file), "study.json")
    return None


def _analyze(args: argparse.Namespace) -> int:
    """Read, analyse, write; print what was written."""
    folder = _export_files(args)
    if not any((args.rankings, args.pathology, args.ratings, args.discrimination)):
        raise StudyError("give at least one of --rankings, --pathology, --ratings, --discrimination (or --export)")
    shipped = folder / DESIGN_FILE if folder is not None else None
    design = (
        read_design(args.design)
        if args.design
        else design_from_study(args.study)
        if args.study
        else read_design(shipped)
        if shipped is not None and shipped.is_file()
        else None
    )
    raw = {task: read_table(path, ()) for task, path in _answer_files(args).items()}
    if args.each_study and len(studies_in(raw)) > 1:
        for study, tables in split_by_study(raw).items():
            print(f"study {study}:")
            answering = {r for t in tables.values() for r in t["reader"].map(reader_id)}
            readers = read_readers(args.readers) if args.readers else None
            own = None if readers is None else readers[readers["reader"].map(reader_id).isin(answering)]
            _analyze_one(args, folder, design, tables, own, args.out / slugify(study))
        return 0
    check_one_study(raw)
    rankings = read_rankings(args.rankings, design) if args.rankings else None
    pathology = read_pathology(args.pathology, design) if args.pathology else None
    ratings = read_ratings(args.ratings, design) if args.ratings else None
    discrimination = read_discrimination(args.discrimination, design) if args.discrimination else None
    readers = read_readers(args.readers) if args.readers else None
    answers = {"rankings": rankings, "recognition": pathology, "rating": ratings, "discrimination": discrimination}
    return _analyze_one(args, folder, design, answers, readers, args.out)


def _answer_files(args: argparse.Namespace) -> dict[str, Path]:
    """The answer files given, keyed as `analyze` keys its tables."""
    given = {"rankings": args.rankings, "recognition": args.pathology, "rating": args.ratings}
    return {task: path for task, path in {**given, "discrimination": args.discrimination}.items() if path}


def _analyze_one(args: argparse.Namespace, folder, design, answers: dict, readers, out: Path) -> int:
    """Analyse one study's answers into out; print what was written."""
    rankings, pathology, ratings, discrimination = (answers.get(task) for task in ANSWER_TASKS)
    summary = analyze(
        rankings,
        pathology,
        readers,
        reference=args.reference,
        blocks=args.blocks,
        posthoc=args.posthoc,
        design=design,
        family=args.family,
        adjust=args.adjust,
        seed=args.seed,
        ratings=ratings,
        discrimination=discrimination,
        plan=_plan(args, folder, design),
    )
    print(plan_line(summary["plan"]))
    written = write_results(summary, out, notes(pathology, ratings, discrimination), args.title)
    for structure, result in summary["ranking"].items():
        f = result["friedman"]
        line = f"{structure}: {result['n_blocks']} complete rankings"
        if result["n_incomplete"]:
            line += f", {result['n_incomplete']} incomplete left out"
        if f:
            line += (
                f"; Friedman χ²({f['df']}) = {f['statistic']:.3f}, p = {f['p']:.4g}; W = {result['kendall_w']['w']:.3f}"
            )
        if result.get("scan_level"):
            line += f"; scan-level p = {result['scan_level']['p']:.4g}"
        if result.get("posthoc_skipped"):
            line += f"; {result['posthoc_skipped']}"
        print(line)
    for line in (rating_line(summary["rating"]), discrimination_line(summary["discrimination"])):
        if line:
            print(line)
    print(f"wrote {len(written)} files to {out}")
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
    pilot = parser.add_mutually_exclusive_group()
    pilot.add_argument("--from", dest="summary", type=Path, help="summary.json of a pilot: effects from its mean ranks")
    pilot.add_argument(
        "--pilot", type=Path, help="rankings.csv of a pilot: effects, --reader-sd and --scan-sd estimated from it"
    )
    parser.add_argument("--structure", help="structure of the pilot to take (default: the first)")
    parser.add_argument("--blocks", choices=BLOCKINGS, default="set", help="blocks as in `analyze` (default: set)")
    parser.add_argument("--reader-sd", type=float, default=0.0, help="SD of a reader's lasting preference per source")
    parser.add_argument(
        "--scan-sd", type=float, default=0.0, help="SD of a scan's own quality, shared by every reader who ranks it"
    )
    parser.add_argument(
        "--complete",
        type=float,
        default=1.0,
        help="share of the sets each reader is expected to rank (default 1: every reader ranks every set)",
    )
    parser.add_argument("--adjust", choices=METHODS, default="bonferroni", help="adjustment of the pairs")
    parser.add_argument("--simulations", type=int, default=1000, help="simulated studies per design (default 1000)")
    parser.add_argument("--max-readers", type=int, default=30, help="largest reader count searched (default 30)")
    parser.add_argument("--max-sets", type=int, default=12, help="largest set count searched (default 12)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, help="folder for power.csv and power.png")


def _power(args: argparse.Namespace) -> int:
    """Simulate; print power and type-I error per test at the planned size, readers and sets needed for 80 %."""
    if args.readers < 2 or args.sets < 1 or args.simulations < 1 or args.max_readers < 2 or args.max_sets < 2:
        raise StudyError(
            "--readers, --max-readers and --max-sets must be at least 2, --sets and --simulations at least 1"
        )
    if args.reader_sd < 0 or args.scan_sd < 0:
        raise StudyError("--reader-sd and --scan-sd must not be negative")
    if not 0 < args.complete <= 1:
        raise StudyError(f"--complete must be a share in (0, 1], not {args.complete:g}")
    effects, reader_sd, scan_sd = _effects(args)
    design = Design(effects, args.readers, args.sets, args.blocks, reader_sd, scan_sd, args.adjust, args.complete)
    counts = list(range(2, max(args.max_readers, args.readers) + 1))
    curve = power_curve(design, counts, args.simulations, args.seed, scan_level=True)
    null = power_curve(design.resized(null=True), [args.readers], args.simulations, args.seed + 1, scan_level=True)
    planned = {name: values[counts.index(args.readers)] for name, values in curve.items()}
    needed = smallest_count(curve, counts)
    print("effects: " + ", ".join(f"{source} {value:+.2f}" for source, value in effects.items()))
    print(
        f"{args.readers} readers × {args.sets} sets, reader SD {reader_sd:g}, scan SD {scan_sd:g}, "
        f"{args.simulations} simulated studies, seed {args.seed}; pairs: {args.adjust}"
    )
    no_effect = len(set(effects.values())) == 1
    width = max(len(name) for name in planned)
    print(f"{'test':<{width}}  {'type-I' if no_effect else 'power'}  type-I at no effect  readers for {GOAL:.0%}")
    for name, value in planned.items():
        reach = "–" if no_effect else needed[name] if needed[name] is not None else f"> {counts[-1]}"
        print(f"{name:<{width}}  {value:5.3f}  {null[name][0]:19.3f}  {reach}")
    margin = 2 * (ALPHA * (1 - ALPHA) / args.simulations) ** 0.5
    for name, values in null.items():
        if values[0] > ALPHA + margin:
            print(
                f"warning: {name}: type-I error {values[0]:.3f} at no effect, above α = {ALPHA} beyond simulation "
                f"error (±{margin:.3f}); its p-values overstate the evidence in this design"
            )
    set_counts = list(range(2, max(args.max_sets, args.sets) + 1))
    by_sets = sets_curve(design, set_counts, args.simulations, args.seed)
    sets_needed = smallest_count(by_sets, set_counts)
    if not no_effect:

        def sets_text(name: str) -> str:
            count = sets_needed[name]
            return f"{count} sets per structure" if count else f"more than {set_counts[-1]} sets per structure"

        print(
            f"for a generator-level claim at {GOAL:.0%} power with {args.readers} readers you need "
            f"{sets_text(CROSSED)} (readers and scans random), {sets_text(SCAN_LEVEL)} (scan-level permutation, "
            "these readers)"
        )
        for name in sets_needed:
            if name not in (SCAN_LEVEL, CROSSED):
                print(f"  {name}: {sets_text(name)}")
    plan_readers = sorted({r for r in PLAN_READERS if r <= args.max_readers} | {args.readers})
    grid = generalising_grid(design, plan_readers, set_counts, args.simulations, args.seed)
    if not no_effect:
        plan = cheapest_plan(grid, plan_readers, set_counts)
        print("rationale: " + plan_rationale(design, plan, plan_readers, set_counts, args.simulations, args.seed))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(grid, index=pd.Index(plan_readers, name="readers"), columns=set_counts).to_csv(
            args.out / "power_plan.csv"
        )
        pd.DataFrame({"readers": counts, **curve}).to_csv(args.out / "power.csv", index=False)
        pd.DataFrame({"sets": set_counts, **by_sets}).to_csv(args.out / "power_sets.csv", index=False)
        power_plot(curve, counts, args.out / "power.png", GOAL)
        print(f"wrote power.csv, power_sets.csv, power_plan.csv (readers × sets) and power.png to {args.out}")
    return 0


def _effects(args: argparse.Namespace) -> tuple[dict[str, float], float, float]:
    """(effects, reader_sd, scan_sd): from --pilot (all three estimated), --from (a pilot's mean ranks), --effect,
    or the default ladder, for the chosen sources."""
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    reader_sd, scan_sd = args.reader_sd, args.scan_sd
    if args.pilot:
        estimate = estimate_from_pilot(read_rankings(args.pilot), args.structure, args.seed)
        print(
            f"pilot {args.pilot} ({estimate.structure}: {estimate.readers} readers × {estimate.sets} sets): "
            f"reader SD ≈ {estimate.reader_sd:g}, scan SD ≈ {estimate.scan_sd:g}"
        )
        effects, reader_sd, scan_sd = estimate.effects, estimate.reader_sd, estimate.scan_sd
    elif args.summary:
        effects = effects_from_mean_ranks(
            _pilot_mean_ranks(args.summary, args.structure), (1 + reader_sd**2 + scan_sd**2) ** 0.5
        )
    else:
        if not sources or len(sources) < 2:
            raise StudyError("give at least two --sources (or a pilot with --from or --pilot)")
        return (parse_effects(args.effect, sources) if args.effect else default_effects(sources)), reader_sd, scan_sd
    if sources:
        missing = [source for source in sources if source not in effects]
        if missing:
            raise StudyError(f"{args.pilot or args.summary}: no mean rank for {', '.join(missing)}")
        effects = {source: effects[source] for source in sources}
    return effects, reader_sd, scan_sd


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
        description="Any of rankings, recognition, realism ratings and real-or-synthetic answers. "
        "Mean ranks, Friedman test and corrected Wilcoxon pairs (claims about these scans), scan-level "
        "permutation tests and a crossed readers × scans quasi-F test (claims about the generators), Kendall's W per "
        "set and pooled, per structure; recognition "
        "accuracy with Wilson and clustered intervals; ratings per source with a scan-level permutation test, "
        "Krippendorff's alpha and ICC; real-or-synthetic accuracy and readers' ROC AUC with an Obuchowski–Rockette "
        "test against chance; reading times; writes summary.json, CSV tables, report.md, "
        "PNGs. With --design or --study, answers that do not fit the study are refused.",
        add_arguments=_analyze_arguments,
        run=_analyze,
    ),
    "power": Command(
        help="simulated power of a planned ranking study",
        description="How likely each test (pooled Friedman and Wilcoxon pairs; scan-level permutation tests; the "
        "crossed readers × scans quasi-F test) "
        "reaches p ≤ 0.05 with this many readers and sets, under a latent-quality model with reader preference and "
        "shared scan quality; each test's type-I error at no effect; the readers and sets needed for 80 %, and for "
        "the generalising test the cheapest readers × sets design, as a sentence a plan's rationale can quote.",
        add_arguments=_power_arguments,
        run=_power,
    ),
}
