"""The bundle sub-commands of `python -m studies`: build, audit and preview."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from studies.audit import audit_bundle
from studies.build import build_bundle
from studies.cli import Command
from studies.preview import contact_sheet


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="processes to use (default: one per core, at most one per volume)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=Path, help="study manifest (TOML); file paths in it are relative to it")
    parser.add_argument("--out", type=Path, required=True, metavar="BUNDLE", help="folder to create for the bundle")
    parser.add_argument("--force", action="store_true", help="replace BUNDLE if it already holds a bundle")
    _workers(parser)


def _build(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out = build_bundle(args.manifest, args.out, workers=args.workers, progress=not args.quiet, overwrite=args.force)
    print(f"built {out} in {time.perf_counter() - started:.1f} s; check it with: python -m studies audit {out}")
    return 0


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle folder written by `build`")
    _workers(parser)


def _audit(args: argparse.Namespace) -> int:
    report = audit_bundle(args.bundle, workers=args.workers, progress=not args.quiet)
    for failure in report.failures:
        print(f"FAIL  {failure}")
    for warning in report.warnings:
        print(f"WARN  {warning}")
    print(f"GUESS {report.guess or 'not measured: it needs two sources, one of them with two or more volumes'}")
    verdict = "clean" if report.clean else "NOT blind"
    print(f"{args.bundle}: {verdict}: {len(report.failures)} failure(s), {len(report.warnings)} warning(s)")
    return 0 if report.clean else 1


def _preview_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle folder written by `build`")
    parser.add_argument("--out", type=Path, required=True, metavar="PNG", help="contact sheet to write (PNG)")


def _preview(args: argparse.Namespace) -> int:
    out = contact_sheet(args.bundle, args.out)
    print(f"wrote {out}", file=sys.stdout)
    return 0


COMMANDS: dict[str, Command] = {
    "build": Command(
        help="build a blinded study bundle from a TOML manifest",
        description=(
            "Read a study manifest, reorient every volume to RAS+, resample it (trilinear) onto the study grid "
            "centred on its own field of view, map it to Hounsfield units, clip to [-1024, 3071], store int16 with "
            "one identical header under a random name, and write BUNDLE/study.json with the key and the tasks. "
            "Nothing is left behind if it fails."
        ),
        add_arguments=_build_arguments,
        run=_build,
    ),
    "audit": Command(
        help="check that nothing served by a bundle can tell sources apart",
        description=(
            "Compare every channel a browser or viewer exposes, pairwise between sources and within every ranking "
            "set: file name, gzip header, NIfTI header bytes and extensions, served byte length per content coding "
            "(zstd, gzip, identity), file time and permissions, value lattice (step, parity) and padding value. "
            "Exit 1 naming the pair, the channel and the volumes where any separates two sources, or when a file "
            "is missing, altered or unlisted, dither is off, or a volume is nearly constant, mostly air or mostly "
            "at a clip bound; exit 0 otherwise. Warns when the pixels of two sources differ (noise, sharpness, "
            "distinct values, value range, histogram, field of view) and prints how well the side channels alone "
            "guess the source (leave-one-out nearest centroid) against chance."
        ),
        add_arguments=_audit_arguments,
        run=_audit,
    ),
    "preview": Command(
        help="draw a contact sheet of every served volume (lung window)",
        description=(
            "Write a PNG with the mid axial, coronal and sagittal slices of every served volume in the lung window "
            "(W 1500 / L -600), labelled by opaque name only, to eyeball a study before readers see it."
        ),
        add_arguments=_preview_arguments,
        run=_preview,
    ),
}
