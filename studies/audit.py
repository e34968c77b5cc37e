"""Audit a bundle: fail on anything served that could tell sources apart; warn on what the eye could use.

Failures: study.json not valid, a missing, unlisted or altered volume file, a gzip header with a name,
timestamp or extra fields, a served copy that does not decode to the bundle's NIfTI, trailing data, dither
switched off, a served volume that shows nothing to judge (nearly constant, mostly air, mostly at a clip
bound), and any side channel that separates a pair of sources: file name, gzip and served stream headers,
NIfTI header bytes and extensions, served byte length per content coding, file time and permissions, value
lattice (step, parity) and padding value (see `studies.channels`). Warnings: pairs of sources told apart by
their pixels (noise, sharpness, grey levels, value range, histogram, field of view; see `studies.appearance`).
The report also says how well the side channels alone guess the source (`studies.guessing`).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Hashable, Mapping

import nibabel as nib
import numpy as np
import zstandard

from contracts.study_format import MEDIA_DIR, NAME_PATTERN, VOLUMES_DIR
from contracts.volumes import HU_CLIP
from studies.appearance import Appearance, measure, source_warnings, unusable, value_counts
from studies.blinding import NO_EXTENSIONS, VOX_OFFSET, served_header, served_voxels, sha256
from studies.bundle import load_study
from studies.channels import (
    PARITY_TOLERANCE,
    Channel,
    Volume,
    channel_failures,
    lattice,
    padding_value,
    parity_failures,
)
from studies.delivery import CODINGS, DeliveryError, compress, decode, padding, served_lengths
from studies.errors import StudyError
from studies.guessing import SourceGuess, guess_sources
from studies.workers import map_volumes

GZIP_FLAGS = ("FTEXT", "FHCRC", "FEXTRA", "FNAME", "FCOMMENT")
HEADER_BYTES = 348  # the NIfTI-1 header; the 4-byte extension flag follows

FILE_NAME = "file name"
GZIP_HEADER = "gzip header of the bundle file"
NIFTI_HEADER = "NIfTI header"
EXTENSIONS = "NIfTI extension area"
FILE_TIME = "file modification time"
FILE_MODE = "file mode (permissions)"
LATTICE_STEP = "value lattice step"
PADDING_VALUE = "padding value (outside the field of view)"


@dataclass(frozen=True)
class AuditReport:
    """What the audit found: failures break blinding (non-zero exit), warnings are for the researcher to judge;
    `guess`: how well the side channels alone guess the source (None with fewer than two sources)."""

    failures: list[str]
    warnings: list[str]
    guess: SourceGuess | None = None

    @property
    def clean(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Inspection:
    """What one served volume exposes: its bundle file's digest, problems of its own, its side-channel values,
    its odd and counted voxels (parity), its appearance, why it shows nothing to judge, and (when the audit
    computes the served copies) the unpadded size of each coding's stream and the gzip trailer."""

    sha256: str
    problems: list[str]
    channels: dict[str, Hashable]
    odd: tuple[int, int] | None = None
    appearance: Appearance | None = None
    unusable: list[str] = field(default_factory=list)
    unpadded: tuple[dict[str, int], bytes] | None = None  # served copies computed here: stream sizes, gzip trailer


def header_differences(found: bytes, expected: bytes) -> list[str]:
    """The NIfTI-1 header fields where `found` differs from `expected`, as readable strings."""
    if len(found) < HEADER_BYTES:
        return [f"file ends inside the NIfTI header ({len(found)} bytes)"]
    try:
        have = nib.Nifti1Header.from_fileobj(io.BytesIO(found[:HEADER_BYTES]), check=False)
    except Exception as error:
        return [f"not a NIfTI-1 header ({error})"]
    want = nib.Nifti1Header.from_fileobj(io.BytesIO(expected[:HEADER_BYTES]), check=False)
    return [
        f"field {name} is {have.structarr[name].tolist()!r}, expected {want.structarr[name].tolist()!r}"
        for name in want.structarr.dtype.names
        if have.structarr[name].tobytes() != want.structarr[name].tobytes()
    ]


def gzip_header(content: bytes) -> tuple[list[str], tuple[str, ...]]:
    """(problems, header in words) of a gzip stream: a name, comment, extra field, header CRC or timestamp is a
    problem; the words (flags, time, compression flags, OS byte) are compared between volumes."""
    flags, mtime = content[3], int.from_bytes(content[4:8], "little")
    names = [name for bit, name in enumerate(GZIP_FLAGS) if flags & (1 << bit)]
    problems = [f"gzip header sets {name}" for name in names if name != "FTEXT"]
    if mtime:
        problems.append(f"gzip header carries a timestamp ({mtime})")
    words = (f"flags {'+'.join(names) or 'none'}", f"time {mtime}", f"XFL {content[8]}", f"OS {content[9]}")
    return problems, words


def stream_header(coding: str, content: bytes) -> tuple[str, ...]:
    """The leading bytes a served stream exposes, in words: gzip header fields or zstd frame parameters."""
    if coding == "gzip":
        return gzip_header(content)[1]
    if coding == "zstd":
        try:
            frame = zstandard.get_frame_parameters(content)
        except zstandard.ZstdError as error:
            return (f"unreadable zstd frame header ({error})",)
        return (
            f"content size {frame.content_size}",
            f"window {frame.window_size}",
            f"dictionary {frame.dict_id}",
            f"checksum {frame.has_checksum}",
        )
    return ()


def extension_words(region: bytes) -> tuple[int, str, str]:
    """(length, digest, printable preview) of the bytes between the NIfTI header and the voxels."""
    preview = "".join(chr(b) if 32 <= b < 127 else "." for b in region[4:84])
    return len(region), sha256(region), preview


def inspect(
    item: tuple[Path, Mapping[str, Path] | None],
    expected_header: bytes,
    shape: tuple[int, int, int],
    spacing: float,
    bounds: tuple[int, int],
) -> Inspection:
    """Read one bundle file (and, if given, the files served for it per coding) and report everything about it a
    browser or viewer could see."""
    path, served = item
    content = path.read_bytes()
    stat = path.stat()
    channels: dict[str, Hashable] = {FILE_TIME: int(stat.st_mtime), FILE_MODE: oct(stat.st_mode & 0o777)}
    if content[:3] != b"\x1f\x8b\x08":
        return Inspection(sha256(content), ["not a gzip (deflate) file"], channels)
    problems, channels[GZIP_HEADER] = gzip_header(content)
    try:
        raw = gzip.decompress(content)
    except (OSError, EOFError) as error:
        return Inspection(sha256(content), problems + [f"cannot decompress ({error})"], channels)
    unpadded = None
    if served is None:
        streams, trailer = compress(raw)
        channels.update({f"served {c} stream header": stream_header(c, stream) for c, stream in streams.items()})
        unpadded = ({c: len(stream) for c, stream in streams.items()}, trailer)
        del streams
    for coding, served_path in (served or {}).items():
        problems += _served_problems(coding, Path(served_path), raw, channels)
    header = tuple(header_differences(raw, expected_header))
    channels[NIFTI_HEADER] = header
    offset = int(np.frombuffer(raw[108:112], "<f4")[0]) if len(raw) >= 112 else VOX_OFFSET
    channels[EXTENSIONS] = extension_words(raw[HEADER_BYTES : max(VOX_OFFSET, min(offset, len(raw)))])
    voxels = int(np.prod(shape))
    problems += [f"NIfTI header {difference}" for difference in header]
    if channels[EXTENSIONS] != extension_words(NO_EXTENSIONS):
        problems.append("NIfTI header extensions are present (they can carry scanner or software details)")
    if header or channels[EXTENSIONS] != extension_words(NO_EXTENSIONS):
        return Inspection(sha256(content), problems, channels, unpadded=unpadded)
    if len(raw) != VOX_OFFSET + 2 * voxels:
        problems.append(f"file holds {len(raw)} bytes, expected {VOX_OFFSET + 2 * voxels} (missing or trailing data)")
        return Inspection(sha256(content), problems, channels, unpadded=unpadded)
    hu = served_voxels(raw, shape)
    counts = value_counts(hu)
    padding = padding_value(hu)
    step, odd, counted = lattice(counts, sorted({*bounds, *([] if padding is None else [padding])}))
    channels[LATTICE_STEP], channels[PADDING_VALUE] = step, padding
    return Inspection(
        sha256(content),
        problems,
        channels,
        (odd, counted),
        measure(hu, spacing, counts),
        unusable(counts, bounds),
        unpadded,
    )


def _served_problems(coding: str, path: Path, raw: bytes, channels: dict[str, Hashable]) -> list[str]:
    """Record the byte length and stream header of the file served in `coding`; problems when it cannot be read,
    its gzip header names a file, a time or extra fields, or it does not decode to the bundle's NIfTI."""
    try:
        content = path.read_bytes()
    except OSError as error:
        return [f"the {coding} copy served ({path}) cannot be read ({error.strerror})"]
    channels[f"served {coding} byte length"] = len(content)
    channels[f"served {coding} stream header"] = stream_header(coding, content)
    problems = [f"served gzip copy: {problem}" for problem in gzip_header(content)[0]] if coding == "gzip" else []
    try:
        decoded = decode(content, coding)
    except DeliveryError as error:
        return problems + [f"the {coding} copy served ({path.name}) cannot be decoded: {error}"]
    if decoded != raw:
        return problems + [
            f"the {coding} copy served ({path.name}) decodes to {len(decoded)} bytes that differ from the bundle's "
            f"NIfTI ({len(raw)} bytes): the browser would not get the bundle's volume"
        ]
    return problems


def _computed_lengths(found: Mapping[str, Inspection]) -> list[str]:
    """Record each volume's served byte length per coding, as `studies.delivery` pads the copies it computed;
    a failure when the volumes cannot share one length."""
    unpadded = {name: i.unpadded for name, i in found.items() if i.unpadded is not None}
    if not unpadded:
        return []
    try:
        lengths = served_lengths(sizes for sizes, _ in unpadded.values())
    except DeliveryError as error:
        return [f"served copies: {error}"]
    for name, (sizes, trailer) in unpadded.items():
        for coding in CODINGS:
            tail = padding(coding, sizes[coding], lengths[coding], trailer)
            found[name].channels[f"served {coding} byte length"] = sizes[coding] + len(tail)
    return []


def audit_bundle(
    bundle: Path,
    *,
    served: Mapping[str, Mapping[str, Path]] | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> AuditReport:
    """Audit every served property of a bundle; see the module docstring for what fails and what warns.

    `served` maps volume name to content coding to the exact file the platform will serve; the byte-level checks
    then run on those files."""
    bundle = Path(bundle)
    try:
        study = load_study(bundle, verify_files=False)
    except StudyError as error:
        return AuditReport([str(error)], [])
    failures = _listing_failures(bundle, study)
    failures += _dither_failures(study)
    entries = [v for v in study["volumes"] if (bundle / v["file"]).is_file()]
    if served is not None:
        failures += [
            f"{v['file']} (id {v['id']!r}): served copies are missing for "
            + ", ".join(c for c in CODINGS if c not in served.get(v["name"], {}))
            for v in entries
            if set(CODINGS) - set(served.get(v["name"], {}))
        ]
    shape = tuple(study["grid"]["shape"])
    spacing = float(study["grid"]["spacing"])
    bounds = _clip_bounds(study)
    inspections = map_volumes(
        partial(
            inspect,
            expected_header=served_header(shape, spacing).binaryblock,
            shape=shape,
            spacing=spacing,
            bounds=bounds,
        ),
        [(bundle / v["file"], None if served is None else served.get(v["name"], {})) for v in entries],
        workers=workers,
        desc="auditing volumes",
        progress=progress,
    )
    volumes = {v["name"]: Volume(v["name"], v["id"], v["source"]) for v in entries}
    found = dict(zip(volumes, inspections))
    for entry, inspection in zip(entries, inspections):
        label = f"{entry['file']} (id {entry['id']!r}, source {entry['source']!r})"
        if inspection.sha256 != entry["sha256"]:
            failures.append(f"{label}: sha256 does not match study.json (the file changed after the build)")
        failures += [f"{label}: {problem}" for problem in inspection.problems + inspection.unusable]
        inspection.channels[FILE_NAME] = _name_shape(entry)
    failures += _computed_lengths(found)
    sets = [(s["set"], s["volumes"]) for entry in study["ranking"] for s in entry["sets"]]
    for channel in _channels(found):
        failures += channel_failures(channel, volumes, sets)
    failures += parity_failures({n: i.odd for n, i in found.items() if i.odd is not None}, volumes)
    appearances = {n: i.appearance for n, i in found.items() if i.appearance is not None}
    warnings = source_warnings(appearances, {n: v.source for n, v in volumes.items()}, sets)
    features = {n: {**i.channels, "odd share": _parity_bin(i.odd)} for n, i in found.items()}
    return AuditReport(failures, warnings, guess_sources(features, {n: v.source for n, v in volumes.items()}))


def _parity_bin(odd: tuple[int, int] | None) -> float | None:
    """A volume's share of odd values to the nearest multiple of PARITY_TOLERANCE, for the source guess: a share
    measured on millions of voxels differs between sources by tenths of a point (e.g. a generator's values at its
    600 HU window edge), far below what a reader could see or the parity check fails on."""
    if odd is None or not odd[1]:
        return None
    return round(odd[0] / odd[1] / PARITY_TOLERANCE) * PARITY_TOLERANCE


def _name_shape(entry: dict[str, Any]) -> tuple[str, ...]:
    """What a volume's served name says besides itself: its length, alphabet and the file's suffix."""
    name, file = entry["name"], Path(entry["file"]).name
    return (
        f"{len(name)} characters",
        "lower-case hex" if NAME_PATTERN.fullmatch(name) else "not lower-case hex",
        f"suffix {file[len(name) :]!r}" if file.startswith(name) else f"file {file!r}",
    )


def _describe_header(value: Hashable) -> str:
    return "the header the study grid defines" if not value else "; ".join(value)


def _describe_extensions(value: Hashable) -> str:
    length, _, preview = value
    if value == extension_words(NO_EXTENSIONS):
        return "no extensions"
    return f"{length} bytes between header and voxels ({preview!r})"


def _channels(found: Mapping[str, Inspection]) -> list[Channel]:
    """Every exact side channel measured on any volume, with how to say its values and what they must be."""
    described: dict[str, tuple[Any, Hashable]] = {
        NIFTI_HEADER: (_describe_header, None),  # each volume's difference from the grid's header is its own failure
        EXTENSIONS: (_describe_extensions, None),
        LATTICE_STEP: (lambda step: f"a {step}-HU lattice" if step != 1 else "whole HU", 1),
        PADDING_VALUE: (lambda value: f"{value} HU", None),
        FILE_TIME: (lambda time: f"time {time}", None),
    }
    names = sorted({key for inspection in found.values() for key in inspection.channels})
    channels = []
    for name in names:
        describe, expected = described.get(name, (_describe_words, None))
        values = {volume: inspection.channels.get(name) for volume, inspection in found.items()}
        channels.append(Channel(name, values, describe, expected))
    return channels


def _describe_words(value: Hashable) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "nothing"
    if isinstance(value, int):
        return f"{value:,} bytes"
    return str(value)


def _clip_bounds(study: dict[str, Any]) -> tuple[int, int]:
    """The range served values were clipped to: study.json's `clip` when recorded, else the 12-bit CT range."""
    clip = study.get("clip")
    if isinstance(clip, list) and len(clip) == 2 and all(isinstance(v, (int, float)) for v in clip):
        return int(clip[0]), int(clip[1])
    return HU_CLIP


def _dither_failures(study: dict[str, Any]) -> list[str]:
    """study.json's dither record switched off (each source keeps its own value lattice) or malformed; a bundle
    built before dithering has none, and its lattice is checked as found."""
    dither = study.get("dither")
    if dither is None:
        return []
    if not isinstance(dither, dict) or not isinstance(dither.get("enabled"), bool):
        return [f"study.json: dither must be an object with enabled true or false, not {dither!r}"]
    if not dither["enabled"]:
        return [
            "study.json: dither is off ([study] dither = false), so each source keeps its own value lattice "
            "(a slope-2 or float source shows in the HU read-out); rebuild with dither on"
        ]
    return []


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
