"""DICOM CT series (any nesting, several series per folder told apart by SeriesInstanceUID) into source case
folders: int16 HU on the series' own grid, with the RAS+ affine from ImagePositionPatient, ImageOrientationPatient
and PixelSpacing. No tag other than this geometry reaches the case (no names, ids, dates, descriptions).

Slices are ordered by their position along the slice normal (row cosine × column cosine), never by file name or
InstanceNumber; RescaleSlope/RescaleIntercept are applied per slice. A series is refused, named, when it cannot
be one regular volume: a missing slice or uneven spacing, gantry tilt, mixed orientations or pixel grids, a
modality other than CT, a single slice, or a file that cannot be read or decoded. Reader: pydicom (pure Python,
decodes uncompressed and, with pylibjpeg installed, compressed pixel data).
"""

from __future__ import annotations

import csv
import os
import warnings
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.errors import InvalidDicomError
from tqdm import tqdm

from generator.data.cases import CaseError
from generator.ingest.folders import (
    LPS_TO_RAS,
    case_key,
    case_name,
    is_done,
    report_text,
    update_map,
    write_source_case,
)
from generator.ingest.runs import Outcome, made, run_jobs, skipped

HEADER_TAGS = ["SeriesInstanceUID", "Modality", "ImageType", "SeriesNumber", "Rows"]
ORIENTATION_TOL = 1e-4  # cosines of two slices' orientations may differ by this much
SPACING_TOL = 0.01  # relative deviation of one gap from the median gap before spacing counts as uneven
TILT_TOL = 0.1  # sideways drift of the stack, in pixels, before it counts as gantry tilt


@dataclass(frozen=True)
class Series:
    """One series found under SRC: its files, the folder they share, and the case it becomes."""

    uid: str
    files: tuple[Path, ...]
    folder: Path
    modality: str
    number: str
    localizer: bool
    match: str  # the value matched against the reports CSV's id column


@dataclass(frozen=True)
class Reports:
    """A reports CSV: which column holds the id to match and which hold the two sections."""

    path: Path
    id_column: str
    findings_column: str
    impression_column: str


def ingest_dicom(
    src: Path, out: Path, *, reports: Reports | None = None, id_tag: str | None = None, workers: int = 1
) -> list[Outcome]:
    """Every CT series under `src` into a case folder under `out`; return one outcome per series (and one per
    unreadable file that belongs to no series)."""
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise CaseError(f"{src}: no such folder of DICOM files")
    if id_tag is not None and tag_for_keyword(id_tag) is None:
        raise CaseError(f"--id-tag {id_tag}: not a DICOM keyword (e.g. AccessionNumber, StudyID)")
    texts = read_reports(reports) if reports else {}
    found, unreadable = find_series(src, id_tag, workers)
    if not found and not unreadable:
        raise CaseError(f"{src}: holds no DICOM image files")
    key = case_key(out)
    outcomes = [Outcome(str(path.relative_to(src)), "refused", "unreadable file", msg) for path, msg in unreadable]
    jobs, rows = [], []
    for series in found:
        name = case_name(key, series.uid)
        label = _label(series, src, name)
        if series.localizer:
            outcomes.append(skipped(name, "localizer", f"{label}: a localizer (scout), not a volume"))
            continue
        rows.append({"case": name, "source": str(series.folder), "source_id": series.uid})
        if is_done(out / name):
            outcomes.append(skipped(name, "already done"))
            continue
        jobs.append((series, out / name, label, texts.get(series.match, "")))
    outcomes += run_jobs(ingest_series, jobs, name=lambda job: job[1].name, workers=workers, desc="ingest dicom")
    done = {o.case for o in outcomes if o.status != "refused"}
    update_map(out, [row for row in rows if row["case"] in done])
    return outcomes


def find_series(src: Path, id_tag: str | None, workers: int) -> tuple[list[Series], list[tuple[Path, str]]]:
    """The image series under `src` (headers only), and the files that look like DICOM but cannot be read."""
    files = sorted(
        p for p in src.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.relative_to(src).parts)
    )
    read = partial(read_header, id_tag=id_tag)
    headers = []
    with tqdm(total=len(files), desc="scanning", unit="file") as bar:
        with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) if workers > 1 else _NoPool() as pool:
            for header in pool.map(read, files, chunksize=64):
                headers.append(header)
                bar.update()
    groups: dict[str, list[tuple[Path, dict]]] = defaultdict(list)
    unreadable = []
    for path, header in zip(files, headers):
        if isinstance(header, str):
            unreadable.append((path, f"{path}: not a readable DICOM file ({header})"))
        elif header is not None:
            groups[header["uid"]].append((path, header))
    series = []
    for uid, members in sorted(groups.items()):
        paths = tuple(p for p, _ in members)
        folder = Path(os.path.commonpath([p.parent for p in paths]))
        first = members[0][1]
        match = first["match"] if id_tag else folder.name
        series.append(Series(uid, paths, folder, first["modality"], first["number"], first["localizer"], match))
    return series, unreadable


def read_header(path: Path, id_tag: str | None) -> dict | str | None:
    """Worker: the grouping fields of one file; None for a file that is not a DICOM image (no preamble, a
    DICOMDIR, a report without pixels); the error text for a DICOM file whose header cannot be read."""
    try:
        with warnings.catch_warnings():  # pydicom warns about every quirk of every file; refusals say what matters
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(
                path, stop_before_pixels=True, specific_tags=HEADER_TAGS + ([id_tag] if id_tag else [])
            )
    except InvalidDicomError:
        return None
    except Exception as exc:  # a truncated or corrupt header fails with many types
        return f"{type(exc).__name__}: {exc}"
    if "SeriesInstanceUID" not in ds or "Rows" not in ds:
        return None
    return {
        "uid": str(ds.SeriesInstanceUID),
        "modality": str(ds.get("Modality", "")),
        "number": str(ds.get("SeriesNumber") or ""),
        "localizer": "LOCALIZER" in [str(v).upper() for v in ds.get("ImageType", [])],
        "match": str(ds.get(id_tag, "")).strip() if id_tag else "",
    }


def ingest_series(job: tuple[Series, Path, str, str]) -> Outcome:
    """Worker: read one series whole, check it is one regular CT volume, and write its case folder."""
    series, folder, label, report = job
    if series.modality != "CT":
        raise CaseError(f"{label}: modality {series.modality or 'missing'}, not CT", "not CT")
    slices = []
    for path in series.files:
        try:
            slices.append(pydicom.dcmread(path))
        except Exception as exc:  # truncated files fail with many types
            message = f"{label}: {path.name} cannot be read ({type(exc).__name__}: {exc})"
            raise CaseError(message, "unreadable file") from None
    hu, affine, info = stack_series(slices, label)
    meta = {"ingest": {"source": "dicom", **info, "report": "from the reports CSV" if report else "none"}}
    write_source_case(folder, hu, affine, report, meta)
    return made(folder.name, "" if report else "no report")


def stack_series(slices: list, label: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """int16 HU (columns, rows, slices) and its RAS+ affine from one series' datasets; CaseError naming `label`
    when they do not make one regular, untilted volume."""
    if len(slices) < 2:
        raise CaseError(f"{label}: one slice only; a volume needs at least two", "one slice")
    for ds in slices:
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise CaseError(
                f"{label}: multi-frame (enhanced) DICOM is not supported; export single frames", "multi-frame"
            )
        for tag in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            if tag not in ds:
                raise CaseError(f"{label}: a slice has no {tag}; its geometry is unknown", "no geometry")
    orientation = np.array([[float(v) for v in ds.ImageOrientationPatient] for ds in slices])
    if np.abs(orientation - orientation[0]).max() > ORIENTATION_TOL:
        raise CaseError(
            f"{label}: slices have mixed orientations (ImageOrientationPatient differs)", "mixed orientations"
        )
    row, col = orientation[0, :3], orientation[0, 3:]
    if abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(col) - 1) > 1e-3 or abs(row @ col) > 1e-3:
        raise CaseError(f"{label}: ImageOrientationPatient is not two orthonormal cosines", "no geometry")
    grids = {(int(ds.Rows), int(ds.Columns), *(round(float(v), 5) for v in ds.PixelSpacing)) for ds in slices}
    if len(grids) > 1:
        raise CaseError(f"{label}: slices have different sizes or pixel spacings {sorted(grids)}", "mixed grids")
    normal = np.cross(row, col)
    positions = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in slices])
    order = np.argsort(positions @ normal, kind="stable")
    positions, slices = positions[order], [slices[i] for i in order]
    along = positions @ normal
    gaps = np.diff(along)
    if gaps.min() < 1e-3:
        raise CaseError(
            f"{label}: two slices share a position ({len(gaps) - np.count_nonzero(gaps >= 1e-3)} "
            "duplicates; several acquisitions in one series?)",
            "duplicate slices",
        )
    step = float(np.median(gaps))
    worst = int(np.argmax(np.abs(gaps - step)))
    if abs(gaps[worst] - step) > SPACING_TOL * step:
        if gaps[worst] > 1.5 * step:
            raise CaseError(
                f"{label}: missing slice: a gap of {gaps[worst]:.3f} mm ({gaps[worst] / step:.1f} slices of "
                f"{step:.3f} mm) between {along[worst]:.2f} and {along[worst + 1]:.2f} mm along the slice normal",
                "missing slice",
            )
        raise CaseError(
            f"{label}: uneven slice spacing, gaps from {gaps.min():.3f} to {gaps.max():.3f} mm", "uneven spacing"
        )
    pixel = np.array([float(v) for v in slices[0].PixelSpacing])  # (between rows, between columns) in mm
    drift = positions - positions[0] - np.outer(along - along[0], normal)
    if np.linalg.norm(drift, axis=1).max() > TILT_TOL * pixel.min():
        tilt = np.degrees(np.arctan(np.linalg.norm(drift[-1]) / (along[-1] - along[0])))
        raise CaseError(
            f"{label}: gantry tilt: the slices drift {np.linalg.norm(drift[-1]):.2f} mm sideways "
            f"({tilt:.1f}°); resample it to an untilted grid in a DICOM tool first",
            "gantry tilt",
        )
    hu, rounded, clipped = _hounsfield(slices, label)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2] = row * pixel[1], col * pixel[0], normal * step
    lps[:3, 3] = positions[0]
    info = {
        "slices": len(slices),
        "pixel_spacing_mm": [round(float(v), 5) for v in pixel],
        "slice_spacing_mm": round(step, 5),
        "hu_rounded": rounded,
        "hu_clipped_to_int16": clipped,
    }
    return hu, LPS_TO_RAS @ lps, info


def _hounsfield(slices: list, label: str) -> tuple[np.ndarray, bool, bool]:
    """The slices' pixels as (columns, rows, slices) int16 HU, stored value × RescaleSlope + RescaleIntercept,
    filled slice by slice into a Fortran-ordered volume (each slice one contiguous block, as NIfTI stores it)."""
    info = np.iinfo(np.int16)
    hu, rounded, clipped = None, False, False
    for k, ds in enumerate(slices):
        if int(ds.get("SamplesPerPixel", 1)) != 1:
            raise CaseError(f"{label}: colour pixels ({ds.get('PhotometricInterpretation')}), not a CT", "not CT")
        try:
            pixels = ds.pixel_array
        except Exception as exc:  # a missing decoder or damaged pixel data
            name = Path(ds.filename).name if ds.filename else "a slice"
            raise CaseError(f"{label}: {name}: pixel data cannot be decoded ({exc})", "unreadable file") from None
        slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
        plane = pixels.T.astype(np.float64) * slope + intercept
        rounded |= bool(np.any(plane != np.round(plane)))
        clipped |= bool(plane.min() < info.min or plane.max() > info.max)
        if hu is None:
            hu = np.empty((*plane.shape, len(slices)), np.int16, order="F")
        hu[:, :, k] = np.clip(np.rint(plane), info.min, info.max)
    return hu, rounded, clipped


def read_reports(reports: Reports) -> dict[str, str]:
    """id → report.txt text from a reports CSV; CaseError naming the file, the column or the row at fault."""
    if not reports.path.is_file():
        raise CaseError(f"{reports.path}: no such reports CSV")
    with reports.path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        wanted = (reports.id_column, reports.findings_column, reports.impression_column)
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise CaseError(f"{reports.path}: no column {', '.join(missing)} (columns: {', '.join(columns)})")
        texts: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            key = (row[reports.id_column] or "").strip()
            if key in texts:
                raise CaseError(f"{reports.path}: row {line}: {reports.id_column} {key!r} appears twice")
            texts[key] = report_text(row[reports.findings_column] or "", row[reports.impression_column] or "")
    return texts


class _NoPool:
    """Stands in for a process pool when there is one worker: map in this process."""

    def __enter__(self) -> _NoPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, function, items, chunksize: int = 1):
        """Lazy map, like the pool's."""
        return map(function, items)


def _label(series: Series, src: Path, name: str) -> str:
    """How messages name a series: its folder under SRC, its SeriesNumber and the case it becomes."""
    where = series.folder.relative_to(src) if series.folder != src else Path(".")
    return f"series {series.number or '?'} in {where} ({name})"
