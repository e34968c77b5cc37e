"""CT-RATE (GenerateCT's data set, huggingface.co/datasets/ibrahimhamamci/CT-RATE) into source case folders.

Layout relied on (the data set's card and its download_scripts/fix_metadata.py): volumes under
`dataset/{train,valid}/<split>_N/<split>_N_a/<split>_N_a_1.nii.gz`, or under `dataset/{train,valid}_fixed/`
in the releases whose headers were fixed; reports in `dataset/radiology_text_reports/{train,validation}_reports.csv`
(columns VolumeName, Findings_EN, Impressions_EN), metadata in `dataset/metadata/{train,validation}_metadata.csv`
(VolumeName, RescaleSlope, RescaleIntercept, XYSpacing such as "[0.75, 0.75]", ZSpacing, ImagePositionPatient,
ImageOrientationPatient). The first release's NIfTI headers are blank and its voxels are stored values; the fixed
release carries the geometry in the header and stores HU. Geometry comes from the header when it has one, else
from the metadata as fix_metadata.py builds it (array axis 0 along the row cosine, 1 along the column cosine,
2 along their cross product, origin ImagePositionPatient, all in DICOM's LPS), written as a column-per-axis
matrix (fix_metadata.py passes the cosines as rows, the same matrix for CT-RATE's axial orientations).

Whether a volume holds stored values or HU is decided by its voxels, not by its folder: a chest CT in HU has
air (−1100 to −900 HU, lungs and the room) and the same volume read the other way has none; where both or
neither reading has air, the release's naming decides, and a volume with no air in either is refused.
"""

from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import nibabel as nib
import numpy as np

from generator.data.cases import CaseError
from generator.ingest.folders import LPS_TO_RAS, is_done, report_text, update_map, write_source_case
from generator.ingest.runs import Outcome, made, run_jobs, skipped

SPLITS = {"train": "train", "valid": "validation"}  # split folder prefix → CSV file prefix
REPORT_COLUMNS = ("VolumeName", "Findings_EN", "Impressions_EN")
GEOMETRY_COLUMNS = ("XYSpacing", "ZSpacing", "ImagePositionPatient", "ImageOrientationPatient")
RESCALE_COLUMNS = ("RescaleSlope", "RescaleIntercept")
AIR_BAND_HU = (-1100.0, -900.0)
AIR_SHARE = 0.02  # a chest CT has at least this share of its voxels at air


@dataclass(frozen=True)
class Volume:
    """One CT-RATE volume on disk with its metadata row and report."""

    name: str  # VolumeName without .nii.gz, e.g. train_1_a_1: already anonymous, kept as the case name
    path: Path
    fixed: bool  # found under a *_fixed folder
    meta: dict
    report: str


def ingest_ctrate(
    root: Path, out: Path, *, split: str = "train", limit: int | None = None, workers: int = 1
) -> list[Outcome]:
    """The first `limit` volumes (in name order, train_2 before train_10) of a CT-RATE split under `root` into case
    folders under `out`."""
    root = Path(root)
    dataset = root / "dataset" if (root / "dataset").is_dir() else root
    if split not in SPLITS:
        raise CaseError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    files = _volume_files(dataset, split)
    if not files:
        raise CaseError(f"{dataset}: no {split}/ or {split}_fixed/ folder with .nii.gz volumes (is it CT-RATE?)")
    reports = _read_csv(_csv_path(dataset, "radiology_text_reports", split, "reports"), REPORT_COLUMNS)
    metadata = _read_csv(_csv_path(dataset, "metadata", split, "metadata"), ("VolumeName",))
    names = sorted(files, key=lambda name: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)])
    names = names[:limit] if limit else names
    outcomes, jobs, rows = [], [], []
    for name in names:
        path, fixed = files[name]
        rows.append({"case": name, "source": str(path), "source_id": f"{name}.nii.gz"})
        if is_done(Path(out) / name):
            outcomes.append(skipped(name, "already done"))
            continue
        if name not in metadata:
            outcomes.append(Outcome(name, "refused", "no metadata", f"{path}: no row for it in the metadata CSV"))
            continue
        row = reports.get(name, {})
        report = report_text(row.get("Findings_EN", ""), row.get("Impressions_EN", ""))
        jobs.append(Volume(name, path, fixed, metadata[name], report))
    work = partial(_ingest_volume, out=Path(out))
    outcomes += run_jobs(work, jobs, name=lambda v: v.name, workers=workers, desc=f"ingest ct-rate {split}")
    done = {o.case for o in outcomes if o.status != "refused"}
    update_map(out, [row for row in rows if row["case"] in done])
    return outcomes


def _ingest_volume(volume: Volume, out: Path) -> Outcome:
    """Worker: one volume in HU with its RAS+ affine into out/<name>."""
    hu, affine, info = read_volume(volume)
    meta = {"ingest": {"source": "ct-rate", "volume": f"{volume.name}.nii.gz", **info}}
    write_source_case(out / volume.name, hu, affine, volume.report, meta)
    return made(volume.name, "" if volume.report else "no report")


def read_volume(volume: Volume) -> tuple[np.ndarray, np.ndarray, dict]:
    """int16 HU, RAS+ affine and how they were read, for one volume; CaseError naming the file at fault."""
    img = nib.load(volume.path)
    if len(img.shape) != 3:
        raise CaseError(f"{volume.path}: not a 3D volume (shape {img.shape})", "not 3D")
    stored = np.asanyarray(img.dataobj).astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(stored)))
    if bad:
        raise CaseError(f"{volume.path}: holds {bad} NaN or infinite values", "NaN values")
    has_geometry = int(img.header["sform_code"]) > 0 or int(img.header["qform_code"]) > 0
    affine = img.affine if has_geometry else metadata_affine(volume.meta, volume.path)
    slope, intercept = (_number(volume.meta, c, volume.path) for c in RESCALE_COLUMNS)
    rescaled = stored * slope + intercept
    air = {reading: _air_share(values) >= AIR_SHARE for reading, values in (("HU", stored), ("raw", rescaled))}
    if air["HU"] != air["raw"]:
        reading, decided_by = ("HU" if air["HU"] else "raw"), "air"
    elif air["HU"]:
        reading, decided_by = ("HU" if volume.fixed or has_geometry else "raw"), "release naming"
    else:
        raise CaseError(
            f"{volume.path}: no air (−1100..−900 HU) whether read as stored or rescaled by {slope:g}·v + "
            f"{intercept:g}: not a chest CT in Hounsfield units?",
            "no air",
        )
    hu = stored if reading == "HU" else rescaled
    info16 = np.iinfo(np.int16)
    info = {
        "stored_as": reading,
        "stored_as_decided_by": decided_by,
        "geometry_from": "header" if has_geometry else "metadata",
        "rescale": [slope, intercept],
    }
    return np.clip(np.rint(hu), info16.min, info16.max).astype(np.int16), affine, info


def metadata_affine(meta: dict, where: Path) -> np.ndarray:
    """The RAS+ affine of a blank-header volume from its metadata row (see the module docstring)."""
    try:
        sx, sy = (float(v) for v in _literal(meta["XYSpacing"]))
        sz = float(meta["ZSpacing"])
        origin = np.array([float(v) for v in _literal(meta["ImagePositionPatient"])])
        cosines = np.array([float(v) for v in _literal(meta["ImageOrientationPatient"])])
    except (KeyError, ValueError, TypeError, SyntaxError) as exc:
        raise CaseError(
            f"{where}: its header has no geometry and its metadata row cannot give it "
            f"({type(exc).__name__}: {exc}; needs {', '.join(GEOMETRY_COLUMNS)})",
            "no geometry",
        ) from None
    if origin.shape != (3,) or cosines.shape != (6,) or min(sx, sy, sz) <= 0:
        raise CaseError(f"{where}: metadata geometry has the wrong shape or a spacing ≤ 0", "no geometry")
    row, col = cosines[:3], cosines[3:]
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * sx, col * sy, np.cross(row, col) * sz, origin
    return LPS_TO_RAS @ lps


def _air_share(values: np.ndarray) -> float:
    """Share of voxels at air, from a strided sample (every 4th voxel per axis is plenty for a share)."""
    sample = values[::4, ::4, ::4]
    return float(np.count_nonzero((sample >= AIR_BAND_HU[0]) & (sample <= AIR_BAND_HU[1]))) / max(sample.size, 1)


def _volume_files(dataset: Path, split: str) -> dict[str, tuple[Path, bool]]:
    """VolumeName stem → (file, from a *_fixed folder), the fixed release winning where both hold a volume."""
    files: dict[str, tuple[Path, bool]] = {}
    for folder, fixed in ((dataset / split, False), (dataset / f"{split}_fixed", True)):
        if folder.is_dir():
            for path in sorted(folder.rglob(f"{split}_*.nii.gz")):
                files[path.name.removesuffix(".nii.gz")] = (path, fixed)
    return files


def _csv_path(dataset: Path, folder: str, split: str, kind: str) -> Path:
    """dataset/<folder>/<prefix>_<kind>.csv, trying the released prefix (validation_) before the split's (valid_)."""
    for prefix in dict.fromkeys((SPLITS[split], split)):
        path = dataset / folder / f"{prefix}_{kind}.csv"
        if path.is_file():
            return path
    raise CaseError(f"{dataset / folder}: no {SPLITS[split]}_{kind}.csv (CT-RATE's {kind} for the {split} split)")


def _read_csv(path: Path, required: tuple[str, ...]) -> dict[str, dict]:
    """VolumeName stem → row of a CT-RATE CSV; CaseError naming the file and the missing columns or duplicate row."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise CaseError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(reader.fieldnames or [])})")
        rows: dict[str, dict] = {}
        for line, row in enumerate(reader, start=2):
            name = (row["VolumeName"] or "").strip().removesuffix(".nii.gz")
            if name in rows:
                raise CaseError(f"{path}: row {line}: VolumeName {name}.nii.gz appears twice")
            rows[name] = row
    return rows


def _number(meta: dict, column: str, where: Path) -> float:
    """One finite number from a metadata row; CaseError naming the column."""
    try:
        value = float(meta[column])
    except (KeyError, ValueError, TypeError):
        raise CaseError(f"{where}: metadata column {column} is missing or not a number", "no metadata") from None
    if not np.isfinite(value):
        raise CaseError(f"{where}: metadata column {column} is {value}", "no metadata")
    return value


def _literal(text: str) -> list:
    """A list written in a CSV cell ("[0.75, 0.75]", or DICOM's "0.75\\0.75")."""
    text = str(text).strip()
    return list(ast.literal_eval(text)) if text.startswith(("[", "(")) else text.split("\\")
