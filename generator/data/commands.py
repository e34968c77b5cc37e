"""Data sub-commands: `phantoms` (procedural chest CTs), `preprocess` (real data to training case folders) and
`ingest` (DICOM, CT-RATE and TotalSegmentator output into source case folders)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from generator.data.anatomy import FOV_MM, spacing_for
from generator.data.cases import CaseError


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands (each sets `run`, which returns the exit status)."""
    p = sub.add_parser(
        "phantoms",
        help="write procedural chest-CT phantom case folders",
        description="Write N synthetic chest CTs with lobes, airway, vessels, findings, report and truth.",
    )
    p.add_argument("--out", type=Path, required=True, help="folder to write case-0000, case-0001, ... into")
    p.add_argument("--n", type=int, required=True, help="number of phantoms")
    p.add_argument(
        "--size", type=int, default=256, help=f"grid size in voxels per axis (field of view is {FOV_MM:g} mm)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same phantoms")
    p.add_argument("--workers", type=int, default=1, help="processes building phantoms in parallel")
    p.add_argument(
        "--mix",
        choices=("default", "balanced"),
        default="default",
        help="how often findings occur (balanced: for text-control experiments; see generator/data/findings.py)",
    )
    p.set_defaults(run=run_phantoms)

    q = sub.add_parser(
        "preprocess",
        help="reorient, resample and clip real case folders for training",
        description="Resample case folders to canonical RAS+ on an isotropic size³ grid; bad cases are skipped.",
    )
    q.add_argument("--src", type=Path, required=True, help="folder of source case folders")
    q.add_argument("--out", type=Path, required=True, help="folder to write the preprocessed case folders into")
    q.add_argument("--size", type=int, default=256, help="target grid size in voxels per axis")
    q.add_argument("--spacing", type=float, default=1.0, help="target isotropic spacing in mm")
    q.add_argument(
        "--allow-missing-masks",
        action="store_true",
        help="accept cases that lack lobes, airway or vessels (recorded per case in meta.json; left out of the loss)",
    )
    q.add_argument("--workers", type=int, default=1, help="processes preprocessing cases in parallel")
    q.set_defaults(run=run_preprocess)

    from generator.ingest.commands import register as register_ingest

    register_ingest(sub)


def run_phantoms(args: argparse.Namespace) -> int:
    """Write the phantoms and print where they went."""
    from generator.data.phantoms import write_phantoms

    if args.n < 1:
        return _fail("--n must be at least 1")
    if args.size < 16 or args.size % 4:
        return _fail(f"--size must be a multiple of 4 and at least 16, got {args.size}")
    try:
        folders = write_phantoms(args.out, args.n, args.size, args.seed, args.workers, args.mix)
    except (OSError, CaseError) as exc:
        return _fail(f"cannot write phantoms to {args.out}: {exc}")
    print(f"wrote {len(folders)} phantoms ({args.size}³, {spacing_for(args.size):.3f} mm) to {args.out}")
    return 0


def run_preprocess(args: argparse.Namespace) -> int:
    """Preprocess the source cases; print the table; exit 1 if any case was refused, 2 on unusable input."""
    from generator.data.preprocess import preprocess_all
    from generator.ingest.runs import report

    if args.size < 4 or args.size % 4:
        return _fail(f"--size must be a positive multiple of 4, got {args.size}")
    if not (math.isfinite(args.spacing) and args.spacing > 0):
        return _fail(f"--spacing must be a positive number of mm, got {args.spacing}")
    if args.workers < 1:
        return _fail(f"--workers must be at least 1, got {args.workers}")
    try:
        outcomes = preprocess_all(
            args.src,
            args.out,
            args.size,
            args.spacing,
            allow_missing_masks=args.allow_missing_masks,
            workers=args.workers,
        )
    except CaseError as exc:
        return _fail(str(exc))
    return report(outcomes, "preprocess", f"case folders in {args.out}")


def _fail(message: str) -> int:
    """Print a user error and return the usage exit status."""
    print(f"error: {message}", file=sys.stderr)
    return 2
