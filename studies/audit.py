"""Audit a bundle: fail on anything served that could tell sources apart; warn on what the eye could use.

Failures: study.json not valid, a missing, unlisted or altered volume file, a gzip header with a name,
timestamp or different flags, a NIfTI header that differs in any byte from the one the study grid
defines (dtype, shape, affine, description, intent, aux file, calibration, scaling, units, extensions),
trailing data, and differing file times or modes. Warnings: per-source differences in noise, grey
levels, intensity histogram, field of view and compressed size (see `studies.appearance`).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from contracts.study_format import MEDIA_DIR, VOLUMES_DIR
from studies.appearance import Appearance, measure, source_warnings
from studies.blinding import NO_EXTENSIONS, served_header, served_voxels, sha256
from studies.bundle import load_study
from studies.errors import StudyError
from studies.workers import map_volumes

GZIP_FLAGS = ("FTEXT", "FHCRC", "FEXTRA", "FNAME", "FCOMMENT")


@dataclass(frozen=True)
class AuditReport:
    """What the audit found: failures break blinding (non-zero exit), warnings are for the researcher to judge."""

    failures: list[str]
    warnings: list[str]

    @property
    def clean(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Inspection:
    """What one served file exposes: its digest, gzip and NIfTI headers, file metadata and appearance."""

    sha256: str
    gzip_problems: list[str]
    gzip_trailer: tuple[int, int]
    header_problems: list[str]
    mtime: int
    mode: int
    appearance: Appearance | None


def header_differences(found: bytes, expected: bytes) -> list[str]:
    """The NIfTI-1 header fields (and extension flag) where `found` differs from `expected`, as readable strings."""
    problems = []
    if len(found) < len(expected):
        return [f"file ends inside the NIfTI header ({len(found)} bytes)"]
    try:
        have = nib.Nifti1Header.from_fileobj(io.BytesIO(found[:348]), check=False)
    except Exception as error:
        return [f"not a NIfTI-1 header ({error})"]
    want = nib.Nifti1Header.from_fileobj(io.BytesIO(expected[:348]), check=False)
    for field in want.structarr.dtype.names:
        if have.structarr[field].tobytes() != want.structarr[field].tobytes():
            problems.append(
                f"NIfTI header field {field} is {have.structarr[field].tolist()!r}, "
                f"expected {want.structarr[field].tolist()!r}"
            )
    if found[348:352] != expected[348:352]:
        problems.append("NIfTI header extensions are present (they can carry scanner or software details)")
    return problems


def inspect(path: Path, expected_header: bytes, shape: tuple[int, int, int], spacing: float) -> Inspection:
    """Read one served file and report everything about it a browser or viewer could see."""
    content = path.read_bytes()
    stat = path.stat()
    gzip_problems = []
    if content[:3] != b"\x1f\x8b\x08":
        return Inspection(
            sha256(content), ["not a gzip (deflate) file"], (0, 0), [], int(stat.st_mtime), stat.st_mode & 0o777, None
        )
    flags, mtime = content[3], int.from_bytes(content[4:8], "little")
    gzip_problems += [
        f"gzip header sets {name}" for bit, name in enumerate(GZIP_FLAGS) if flags & (1 << bit) and name != "FTEXT"
    ]
    if mtime:
        gzip_problems.append(f"gzip header carries a timestamp ({mtime})")
    try:
        raw = gzip.decompress(content)
    except (OSError, EOFError) as error:
        return Inspection(
            sha256(content),
            gzip_problems + [f"cannot decompress ({error})"],
            (0, 0),
            [],
            int(stat.st_mtime),
            stat.st_mode & 0o777,
            None,
        )
    header_problems = header_differences(raw[:352], expected_header)
    voxels = int(np.prod(shape))
    if not header_problems and len(raw) != len(expected_header) + 2 * voxels:
        header_problems.append(
            f"file holds {len(raw)} bytes, expected {len(expected_header) + 2 * voxels} (missing or trailing data)"
        )
    appearance = None
    if not header_problems:
        hu = served_voxels(raw, shape)
        appearance = measure(hu, spacing)
        appearance.metrics["bits_per_voxel"] = 8.0 * len(content) / voxels
    return Inspection(
        sha256(content),
        gzip_problems,
        (content[8], content[9]),
        header_problems,
        int(stat.st_mtime),
        stat.st_mode & 0o777,
        appearance,
    )


def audit_bundle(bundle: Path, *, workers: int | None = None, progress: bool = False) -> AuditReport:
    """Audit every served property of a bundle; see the module docstring for what fails and what warns."""
    bundle = Path(bundle)
    try:
        study = load_study(bundle, verify_files=False)
    except StudyError as error:
        return AuditReport([str(error)], [])
    failures = _listing_failures(bundle, study)
    volumes = [v for v in study["volumes"] if (bundle / v["file"]).is_file()]
    shape = tuple(study["grid"]["shape"])
    spacing = float(study["grid"]["spacing"])
    expected = served_header(shape, spacing).binaryblock + NO_EXTENSIONS
    paths = [bundle / v["file"] for v in volumes]
    inspections = map_volumes(
        partial(inspect, expected_header=expected, shape=shape, spacing=spacing),
        paths,
        workers=workers,
        desc="auditing volumes",
        progress=progress,
    )
    for volume, found in zip(volumes, inspections):
        label = f"{volume['file']} (id {volume['id']!r}, source {volume['source']!r})"
        if found.sha256 != volume["sha256"]:
            failures.append(f"{label}: sha256 does not match study.json (the file changed after the build)")
        failures += [f"{label}: {problem}" for problem in found.gzip_problems + found.header_problems]
    failures += _uniformity_failures(volumes, inspections)
    appearances = {
        v["name"]: found.appearance for v, found in zip(volumes, inspections) if found.appearance is not None
    }
    sources = {v["name"]: v["source"] for v in volumes}
    return AuditReport(failures, source_warnings(appearances, sources))


def _listing_failures(bundle: Path, study: dict[str, Any]) -> list[str]:
    """Missing volume files, and files served next to them that study.json does not list."""
    listed = {volume["file"] for volume in study["volumes"]} | ({study["video"]} if study["video"] else set())
    failures = [
        f"{volume['file']} (id {volume['id']!r}): file is missing"
        for volume in study["volumes"]
        if not (bundle / volume["file"]).is_file()
    ]
    for folder in (VOLUMES_DIR, MEDIA_DIR):
        for path in sorted((bundle / folder).rglob("*")) if (bundle / folder).is_dir() else []:
            relative = path.relative_to(bundle).as_posix()
            if relative not in listed and not path.is_dir():
                failures.append(f"{relative}: served folder holds a file study.json does not list")
    return failures


def _uniformity_failures(volumes: list[dict[str, Any]], inspections: list[Inspection]) -> list[str]:
    """File properties that must be the same for every volume: modification time, permissions, gzip trailer bytes."""
    failures = []
    for what, values in (
        ("modification time", [i.mtime for i in inspections]),
        ("file permissions", [oct(i.mode) for i in inspections]),
        ("gzip compression flags", [i.gzip_trailer for i in inspections]),
    ):
        if len(set(values)) > 1:
            by_source: dict[str, set[Any]] = {}
            for volume, value in zip(volumes, values):
                by_source.setdefault(volume["source"], set()).add(value)
            detail = "; ".join(
                f"{source}: {', '.join(map(str, sorted(found)))}" for source, found in sorted(by_source.items())
            )
            failures.append(f"volume files differ in {what} ({detail})")
    return failures
