"""TotalSegmentator's per-structure output files into a case folder's lobes, airway and vessels masks.

From the `total` task: lung_upper_lobe_left, lung_lower_lobe_left, lung_upper_lobe_right, lung_middle_lobe_right
and lung_lower_lobe_right become lobes.nii.gz with the project's labels 1..5 (lungmask's convention); from the
`lung_vessels` task: lung_trachea_bronchia becomes airway.nii.gz and lung_vessels vessels.nii.gz. The masks must lie
on the case's CT grid (TotalSegmentator writes them on its input's grid); another grid is refused, or with
`resample` taken by nearest neighbour and recorded in meta.json.
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from generator.data.cases import MASKS, CaseError, read_meta, save_image
from generator.ingest.runs import Outcome, made, run_jobs, skipped

LOBE_FILES = {
    "lung_upper_lobe_left": 1,
    "lung_lower_lobe_left": 2,
    "lung_upper_lobe_right": 3,
    "lung_middle_lobe_right": 4,
    "lung_lower_lobe_right": 5,
}
MASK_FILES = {"airway": "lung_trachea_bronchia", "vessels": "lung_vessels"}
TASKS = {"lobes": "total", "airway": "lung_vessels", "vessels": "lung_vessels"}


def ingest_one(ts_dir: Path, case: Path, resample: bool = False) -> Outcome:
    """Turn one TotalSegmentator output folder into the masks of one case folder."""
    ts_dir, case = Path(ts_dir), Path(case)
    if not ts_dir.is_dir():
        raise CaseError(f"{ts_dir}: no such TotalSegmentator output folder", "no TotalSegmentator folder")
    if not (case / "ct.nii.gz").is_file():
        raise CaseError(f"{case}: not a case folder (no ct.nii.gz)", "no ct.nii.gz")
    ct = nib.load(case / "ct.nii.gz")
    masks, resampled = {}, []
    lobe_paths = {name: _find(ts_dir, name) for name in LOBE_FILES}
    present = [name for name, path in lobe_paths.items() if path]
    if present and len(present) < len(LOBE_FILES):
        absent = sorted(set(LOBE_FILES) - set(present))
        raise CaseError(f"{ts_dir}: lobes need all five lobe files; {', '.join(absent)} missing", "partial lobes")
    if present:
        lobes = np.zeros(ct.shape, np.uint8)
        for name, label in LOBE_FILES.items():
            inside = _mask(lobe_paths[name], ct, resample, resampled)
            overlap = int(np.count_nonzero(inside & (lobes > 0)))
            if overlap:
                raise CaseError(f"{ts_dir}: {name} overlaps another lobe in {overlap} voxels", "overlapping lobes")
            lobes[inside] = label
        masks["lobes"] = lobes
    for mask, name in MASK_FILES.items():
        if path := _find(ts_dir, name):
            masks[mask] = _mask(path, ct, resample, resampled).astype(np.uint8)
    if not masks:
        raise CaseError(f"{ts_dir}: holds none of TotalSegmentator's lobe, airway or vessel files", "no masks found")
    meta = read_meta(case)
    meta.setdefault("masks", {}).update(
        {name: {"from": f"TotalSegmentator {TASKS[name]} task", "resampled": bool(resampled)} for name in masks}
    )
    for name, mask in masks.items():
        _replace(case / f"{name}.nii.gz", lambda tmp, m=mask: save_image(m, ct.affine, tmp))
    _replace(case / "meta.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n"))
    missing = [name for name in MASKS if not (case / f"{name}.nii.gz").is_file()]
    notes = (["resampled"] if resampled else []) + ([f"without {', '.join(missing)}"] if missing else [])
    return made(case.name, "; ".join(notes))


def ingest_single(ts_dir: Path, case: Path, *, resample: bool = False) -> list[Outcome]:
    """One TotalSegmentator folder into one case folder, as a run of one (its refusal is an outcome, not a raise)."""
    if not Path(case).is_dir():
        raise CaseError(f"{case}: no such case folder")
    work = partial(_ingest_job, resample=resample)
    return run_jobs(work, [(Path(ts_dir), Path(case))], name=lambda job: job[1].name, workers=1, desc="ingest masks")


def ingest_all(ts_root: Path, cases: Path, *, resample: bool = False, workers: int = 1) -> list[Outcome]:
    """Every case folder under `cases` from the TotalSegmentator folder of the same name under `ts_root`."""
    ts_root, cases = Path(ts_root), Path(cases)
    for folder in (ts_root, cases):
        if not folder.is_dir():
            raise CaseError(f"{folder}: no such folder")
    folders = sorted(p for p in cases.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise CaseError(f"{cases}: holds no case folders")
    outcomes, jobs = [], []
    for case in folders:
        if not (ts_root / case.name).is_dir():
            outcomes.append(skipped(case.name, "no TotalSegmentator folder", f"{ts_root / case.name}: not found"))
        elif all((case / f"{name}.nii.gz").is_file() for name in MASKS):
            outcomes.append(skipped(case.name, "already done"))
        else:
            jobs.append((ts_root / case.name, case))
    unmatched = sorted({p.name for p in ts_root.iterdir() if p.is_dir()} - {p.name for p in folders})
    outcomes += [
        skipped(name, "no case folder", f"{ts_root / name}: no case folder {name} under {cases}") for name in unmatched
    ]
    work = partial(_ingest_job, resample=resample)
    return outcomes + run_jobs(work, jobs, name=lambda job: job[1].name, workers=workers, desc="ingest masks")


def _ingest_job(job: tuple[Path, Path], resample: bool) -> Outcome:
    """Worker: one (TotalSegmentator folder, case folder) pair."""
    return ingest_one(*job, resample=resample)


def _find(ts_dir: Path, name: str) -> Path | None:
    """TotalSegmentator's file for one structure (.nii.gz, or .nii), or None."""
    for suffix in (".nii.gz", ".nii"):
        if (ts_dir / f"{name}{suffix}").is_file():
            return ts_dir / f"{name}{suffix}"
    return None


def _mask(path: Path, ct: nib.Nifti1Image, resample: bool, resampled: list[str]) -> np.ndarray:
    """A structure file as a boolean mask on the CT's grid; CaseError if it lies on another grid, unless resampling
    (nearest neighbour, recorded in `resampled`)."""
    try:
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise CaseError(f"{path}: cannot be read as NIfTI ({exc})", "unreadable file") from None
    if data.ndim != 3:
        raise CaseError(f"{path}: not a 3D mask (shape {data.shape})", "grid mismatch")
    if data.shape == ct.shape and np.allclose(img.affine, ct.affine, atol=1e-3):
        return data > 0
    if not resample:
        raise CaseError(
            f"{path}: grid {data.shape} differs from ct.nii.gz {ct.shape} (or its affine does); pass --resample "
            "to take it by nearest neighbour",
            "grid mismatch",
        )
    resampled.append(path.name)
    to_mask = np.linalg.inv(img.affine) @ ct.affine
    moved = ndimage.affine_transform(
        (data > 0).astype(np.uint8), to_mask[:3, :3], offset=to_mask[:3, 3], output_shape=ct.shape, order=0, cval=0
    )
    return moved > 0


def _replace(path: Path, write) -> None:
    """Write a file beside `path` and rename it into place, so no reader sees it half-written."""
    tmp = path.parent / f".{os.getpid()}-{path.name}"
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
