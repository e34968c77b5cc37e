"""`ingest dicom`, `ingest ct-rate` and `ingest totalsegmentator`: real data into source case folders, which
`preprocess` then puts on the training grid."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.data.cases import CaseError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `ingest` and its three sources (each sets `run`, which returns the exit status)."""
    p = sub.add_parser(
        "ingest",
        help="DICOM series, CT-RATE or TotalSegmentator masks into case folders",
        description="Bring real data in as case folders (ct.nii.gz in HU, report.txt, meta.json; masks from "
        "TotalSegmentator); every source resumes where a run stopped and ends with a table of cases.",
    )
    sources = p.add_subparsers(dest="source", required=True, metavar="SOURCE")

    d = sources.add_parser("dicom", help="every CT series under a folder, one case each")
    d.add_argument("src", type=Path, help="folder of DICOM files (any nesting; series told apart by SeriesInstanceUID)")
    d.add_argument("--out", type=Path, required=True, help="folder for the case folders and ingest-map.csv")
    d.add_argument("--reports", type=Path, help="CSV with one report per series")
    d.add_argument("--id-column", default="AccessionNumber", help="the reports CSV's column naming the series")
    d.add_argument(
        "--id-tag",
        help="DICOM tag matched against --id-column, e.g. AccessionNumber (default: the series folder's name)",
    )
    d.add_argument("--findings-column", default="Findings", help="the reports CSV's Findings column")
    d.add_argument("--impression-column", default="Impression", help="the reports CSV's Impression column")
    _workers(d)
    d.set_defaults(run=run_dicom)

    c = sources.add_parser("ct-rate", help="CT-RATE volumes with their reports")
    c.add_argument("root", type=Path, help="the CT-RATE download (the folder holding dataset/)")
    c.add_argument("--out", type=Path, required=True, help="folder for the case folders and ingest-map.csv")
    c.add_argument("--split", choices=("train", "valid"), default="train")
    c.add_argument("--limit", type=int, help="only the first N volumes of the split, by name")
    _workers(c)
    c.set_defaults(run=run_ctrate)

    t = sources.add_parser("totalsegmentator", help="TotalSegmentator's lung files into lobes, airway and vessels")
    t.add_argument("ts", type=Path, help="one TotalSegmentator output folder (--case), or a folder of them (--cases)")
    where = t.add_mutually_exclusive_group(required=True)
    where.add_argument("--case", type=Path, help="the one case folder the masks belong to")
    where.add_argument("--cases", type=Path, help="folder of case folders, matched to TS folders by name")
    t.add_argument("--resample", action="store_true", help="take masks on another grid by nearest neighbour")
    _workers(t)
    t.set_defaults(run=run_totalsegmentator)


def run_dicom(args: argparse.Namespace) -> int:
    """Ingest DICOM series and print the table."""
    from generator.ingest.dicom import Reports, ingest_dicom

    reports = (
        Reports(args.reports, args.id_column, args.findings_column, args.impression_column) if args.reports else None
    )
    return _run(
        lambda: ingest_dicom(args.src, args.out, reports=reports, id_tag=args.id_tag, workers=args.workers),
        "ingest dicom",
        args.out,
        args,
    )


def run_ctrate(args: argparse.Namespace) -> int:
    """Ingest CT-RATE volumes and print the table."""
    from generator.ingest.ctrate import ingest_ctrate

    if args.limit is not None and args.limit < 1:
        return _fail(f"--limit must be at least 1, got {args.limit}")
    return _run(
        lambda: ingest_ctrate(args.root, args.out, split=args.split, limit=args.limit, workers=args.workers),
        f"ingest ct-rate {args.split}",
        args.out,
        args,
    )


def run_totalsegmentator(args: argparse.Namespace) -> int:
    """Ingest TotalSegmentator masks for one case or a folder of cases and print the table."""
    from generator.ingest.totalsegmentator import ingest_all, ingest_single

    return _run(
        lambda: (
            ingest_single(args.ts, args.case, resample=args.resample)
            if args.case
            else ingest_all(args.ts, args.cases, resample=args.resample, workers=args.workers)
        ),
        "ingest totalsegmentator",
        args.case or args.cases,
        args,
    )


def _run(work, title: str, where: Path, args: argparse.Namespace) -> int:
    """Run an ingest, print its table and return 0, 1 if a case was refused, or 2 on unusable input."""
    from generator.ingest.runs import report

    if args.workers < 1:
        return _fail(f"--workers must be at least 1, got {args.workers}")
    try:
        outcomes = work()
    except CaseError as exc:
        return _fail(str(exc))
    return report(outcomes, title, f"case folders in {where}")


def _workers(parser: argparse.ArgumentParser) -> None:
    """The --workers option every source has."""
    parser.add_argument("--workers", type=int, default=1, help="processes working in parallel (default: 1)")


def _fail(message: str) -> int:
    """Print a user error and return the usage exit status."""
    print(f"error: {message}", file=sys.stderr)
    return 2
