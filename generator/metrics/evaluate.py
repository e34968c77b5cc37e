"""`evaluate`: anatomy measures per case for a real and a generated set, FID/MMD between their features,
written as cases.csv, metrics.json and distribution plots (paper Tables I–IV, Fig. 5)."""

from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from tqdm import tqdm

from generator.ingest.runs import REFUSED, Outcome
from generator.metrics.anatomy import MEASURES, MeasureError, measure, read_masks
from generator.metrics.distances import frechet_distance, mmd2_unbiased
from generator.metrics.extractors import Extractor, embed, medicalnet_extractor, project_extractor, seeded_extractor

SETS = ("real", "generated")
COLUMNS = ("case", "set", *MEASURES)
AIR_BELOW_HU = -500.0  # a chest CT in HU always has voxels below this (lungs, airway, the room)


class VolumeRefused(MeasureError):
    """One volume that cannot be measured; `reason` is the short kind of fault the end-of-run table counts."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def list_volumes(root: Path) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(name, CT path) of every volume in a set folder (case folders holding ct.nii.gz, or NIfTI files), and the
    case folders without ct.nii.gz (hidden folders, such as one still being written, are neither)."""
    root = Path(root)
    if not root.is_dir():
        raise MeasureError(f"{root}: no such folder")
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    found = [(p.name, p / "ct.nii.gz") for p in folders if (p / "ct.nii.gz").is_file()]
    found += [(p.name.removesuffix(".gz").removesuffix(".nii"), p) for p in sorted(root.glob("*.nii*")) if p.is_file()]
    if not found:
        raise MeasureError(f"{root}: holds no case folders with ct.nii.gz and no .nii/.nii.gz files")
    return found, [p for p in folders if not (p / "ct.nii.gz").is_file()]


def load_ct(path: Path) -> tuple[np.ndarray, float]:
    """A CT in HU reoriented to canonical RAS+, and its isotropic spacing in mm; VolumeRefused for a volume
    that cannot be read, holds NaN, is not in Hounsfield units or is not isotropic."""
    try:
        img = nib.as_closest_canonical(nib.load(str(path)))
        ct = np.asanyarray(img.dataobj).astype(np.float32)
    except Exception as exc:  # nibabel raises several types for unreadable files
        raise VolumeRefused(f"{path}: not a readable NIfTI file ({exc})", "unreadable file") from None
    if ct.ndim != 3:
        raise VolumeRefused(f"{path}: expected a 3D volume, got shape {ct.shape}", "not 3D")
    bad = int(np.count_nonzero(~np.isfinite(ct)))
    if bad:
        raise VolumeRefused(f"{path}: holds {bad} NaN or infinite values", "NaN values")
    if ct.min() > AIR_BELOW_HU:
        raise VolumeRefused(
            f"{path}: no voxel below {AIR_BELOW_HU:g} HU (values span {ct.min():g} to {ct.max():g}), so no air: not a "
            "chest CT in Hounsfield units (a model-space volume in [-1, 1]?)",
            "not HU",
        )
    zooms = np.asarray(img.header.get_zooms()[:3], float)
    if np.ptp(zooms) > 0.01 * zooms.mean():
        raise VolumeRefused(
            f"{path}: voxel spacing {tuple(np.round(zooms, 3))} mm is not isotropic; "
            "resample it first (python -m generator preprocess)",
            "not isotropic",
        )
    return ct, float(zooms.mean())


def measure_volume(job: tuple[str, str, Path, Path | None, tuple | None]) -> tuple[dict | Outcome, np.ndarray | None]:
    """Worker: the measures row of one volume and, when an extractor is named, its feature vector; or, for a
    volume that cannot be measured, the refusal saying why."""
    name, set_name, path, mask_dir, extractor_spec = job
    torch.set_num_threads(1)
    try:
        ct, spacing = load_ct(path)
        masks = read_masks(mask_dir / name, ct.shape) if mask_dir is not None and (mask_dir / name).is_dir() else None
        row = {"case": name, "set": set_name, **measure(ct, spacing, masks)}
    except MeasureError as exc:
        return Outcome(f"{set_name}/{name}", REFUSED, getattr(exc, "reason", "cannot measure"), str(exc)), None
    features = embed(_extractor(extractor_spec), ct) if extractor_spec else None
    return row, features


def evaluate(
    real: Path,
    generated: Path,
    out: Path,
    *,
    extractor_spec: tuple | None = None,
    masks: dict[str, Path | None] | None = None,
    workers: int = 2,
) -> dict:
    """Measure both sets (in `workers` processes), compare their features and write cases.csv,
    metrics.json and PNG plots into `out`; return the metrics. A volume that cannot be measured is left out and
    listed under metrics["refused"] with the reason; a set left with no volume is an error."""
    masks = masks or {}
    jobs, refused = [], []
    for set_name, root in zip(SETS, (real, generated)):
        found, absent = list_volumes(root)
        jobs += [(name, set_name, path, masks.get(set_name), extractor_spec) for name, path in found]
        refused += [Outcome(f"{set_name}/{p.name}", REFUSED, "no ct.nii.gz", f"{p}: no ct.nii.gz") for p in absent]
    if extractor_spec:
        _extractor(extractor_spec)  # fail early on a bad extractor, before any worker starts
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs), os.cpu_count() or 1))) as pool:
        results = list(tqdm(pool.map(measure_volume, jobs), total=len(jobs), desc="evaluating", unit="volume"))
    refused += [outcome for outcome, _ in results if isinstance(outcome, Outcome)]
    results = [(row, features) for row, features in results if not isinstance(row, Outcome)]
    rows = [row for row, _ in results]
    for set_name, root in zip(SETS, (real, generated)):
        if not any(r["set"] == set_name for r in rows):
            reasons = "; ".join(o.message for o in refused if o.case.startswith(f"{set_name}/"))
            raise MeasureError(f"{root}: no volume of the {set_name} set could be measured ({reasons})")
    metrics = {"sets": {s: summarise([r for r in rows if r["set"] == s]) for s in SETS}}
    metrics["refused"] = [{"volume": o.case, "reason": o.reason, "message": o.message} for o in refused]
    if extractor_spec:
        feats = {s: np.stack([f for (r, f) in results if r["set"] == s]) for s in SETS}
        metrics["fid"] = frechet_distance(feats["real"], feats["generated"])
        metrics["mmd"] = mmd2_unbiased(feats["real"], feats["generated"])
        metrics["features"] = {
            **_extractor(extractor_spec).description,
            "mmd": "unbiased MMD² with an RBF kernel, median-heuristic bandwidth",
        }
    else:
        metrics["fid"] = metrics["mmd"] = None
        metrics["features"] = None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_rows(rows, out / "cases.csv")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    from generator.metrics.plots import plot_distributions

    plot_distributions(rows, out)
    return metrics


def summarise(rows: list[dict]) -> dict:
    """Per-measure mean, sample standard deviation and count of one set's rows."""
    summary = {"n": len(rows)}
    for name in MEASURES:
        values = np.array([r[name] for r in rows], float)
        summary[name] = {
            "mean": round(float(values.mean()), 4) if len(values) else None,
            "sd": round(float(values.std(ddof=1)), 4) if len(values) > 1 else None,
        }
    return summary


def write_rows(rows: list[dict], path: Path) -> None:
    """cases.csv with the columns case, set and the four measures (written to a temporary file first)."""
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


@lru_cache(maxsize=2)
def _extractor(spec: tuple) -> Extractor:
    """The extractor a spec names: ("project", folder), ("random", seed) or ("medicalnet", path, depth)."""
    kind, *args = spec
    if kind == "project":
        return project_extractor(Path(args[0]))
    if kind == "random":
        return seeded_extractor(int(args[0]))
    return medicalnet_extractor(Path(args[0]), int(args[1]))
