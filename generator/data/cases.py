"""Case folders: one chest CT in HU with its lobe, airway and vessel masks, report and metadata.

The contract is in docs/architecture.md (Data contracts, Case folder).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from contracts.volumes import CHANNELS

VOLUMES = {"ct": np.int16, "lobes": np.uint8, "airway": np.uint8, "vessels": np.uint8}
MASKS = CHANNELS[1:]  # lobes, airway, vessels
LOBE_MAX = 5
MISSING_HINT = "pass --allow-missing-masks to accept cases without some masks"


class CaseError(Exception):
    """A case folder or case that breaks the data contract, said with the folder and what is wrong; `reason` is
    the short kind of fault that end-of-run tables count."""

    def __init__(self, message: str, reason: str = "invalid case"):
        super().__init__(message)
        self.reason = reason


@dataclass
class Case:
    """One chest CT (int16 HU) with its masks on the same canonical RAS+ isotropic grid."""

    ct: np.ndarray
    lobes: np.ndarray
    airway: np.ndarray
    vessels: np.ndarray
    affine: np.ndarray
    report: str = ""
    meta: dict = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # masks the case has no file for: all zeros here, never written, left out of the loss

    @property
    def spacing(self) -> float:
        """Voxel edge length in mm (the grid is isotropic)."""
        return float(np.linalg.norm(self.affine[:3, 0]))

    @property
    def voxel_mm3(self) -> float:
        """Volume of one voxel in mm³."""
        return float(abs(np.linalg.det(self.affine[:3, :3])))


def read_case(folder: Path, allow_missing_masks: bool = False) -> Case:
    """Load a case folder and check it against the contract; raise CaseError naming the folder and the fault.

    With `allow_missing_masks`, an absent lobes, airway or vessels file reads as zeros and is named in `missing`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CaseError(f"{folder}: not a case folder (no such directory)")
    absent = [name for name in MASKS if not (folder / f"{name}.nii.gz").is_file()]
    if absent and not allow_missing_masks:
        names = " and ".join(f"{n}.nii.gz" for n in absent)
        raise CaseError(f"{folder}: {names} {'is' if len(absent) == 1 else 'are'} missing ({MISSING_HINT})", "no masks")
    arrays, affine, shape = {}, None, None
    for name, dtype in VOLUMES.items():
        if name in absent:
            continue
        img = load_image(folder / f"{name}.nii.gz", folder)
        if shape is None:
            shape, affine = img.shape, img.affine
        elif img.shape != shape:
            raise CaseError(f"{folder}: {name}.nii.gz has shape {img.shape} but ct.nii.gz has {shape}")
        elif not np.allclose(img.affine, affine, atol=1e-4):
            raise CaseError(f"{folder}: {name}.nii.gz has a different affine from ct.nii.gz")
        arrays[name] = _as_contract_dtype(np.asanyarray(img.dataobj), name, dtype, folder)
    check_grid(affine, folder)
    arrays |= {name: np.zeros(shape, np.uint8) for name in absent}
    if arrays["lobes"].max(initial=0) > LOBE_MAX:
        raise CaseError(f"{folder}: lobes.nii.gz has labels above {LOBE_MAX}")
    for name in ("airway", "vessels"):
        if arrays[name].max(initial=0) > 1:
            raise CaseError(f"{folder}: {name}.nii.gz is not a 0/1 mask")
    report_path = folder / "report.txt"
    if not report_path.is_file():
        raise CaseError(f"{folder}: report.txt is missing")
    return Case(
        **arrays,
        affine=affine.astype(np.float64),
        report=report_path.read_text(),
        meta=read_meta(folder),
        missing=tuple(absent),
    )


def read_meta(folder: Path) -> dict:
    """A case folder's meta.json as a dict ({} when there is none); CaseError if it is not a JSON object."""
    path = Path(folder) / "meta.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CaseError(f"{folder}: meta.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise CaseError(f"{folder}: meta.json holds a JSON {type(meta).__name__}, not an object of named fields")
    return meta


def write_case(case: Case, folder: Path) -> None:
    """Write a case folder atomically (a temporary sibling folder, then a rename), replacing any old one; masks
    named in `case.missing` are left out and listed in meta.json as `missing_masks`."""
    folder = Path(folder)
    check_case(case, folder)
    meta = case.meta | {"missing_masks": list(case.missing)} if case.missing else case.meta

    def fill(tmp: Path) -> None:
        for name, dtype in VOLUMES.items():
            if name not in case.missing:
                save_image(getattr(case, name).astype(dtype, copy=False), case.affine, tmp / f"{name}.nii.gz")
        (tmp / "report.txt").write_text(case.report)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    write_folder(folder, fill)


def write_folder(folder: Path, fill: Callable[[Path], None]) -> None:
    """Build a folder with `fill(tmp)` in a temporary sibling, then rename it into place, replacing any old one:
    a reader never sees a half-written folder, and a failure leaves the old one untouched."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        fill(tmp)
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{os.getpid()}"
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_case(case: Case, where: Path | str = "case") -> None:
    """Raise CaseError unless the four volumes share one 3D shape and the affine is canonical and isotropic."""
    shapes = {name: np.shape(getattr(case, name)) for name in VOLUMES}
    if len(set(shapes.values())) != 1 or len(shapes["ct"]) != 3:
        raise CaseError(f"{where}: volumes must be 3D with one shape, got {shapes}")
    check_grid(np.asarray(case.affine), where)


def check_grid(affine: np.ndarray, where: Path | str) -> None:
    """Raise CaseError unless the affine is canonical RAS+ with isotropic spacing."""
    if affine.shape != (4, 4):
        raise CaseError(f"{where}: affine must be 4x4, got {affine.shape}")
    codes = nib.aff2axcodes(affine)
    if codes != ("R", "A", "S"):
        raise CaseError(f"{where}: orientation is {''.join(codes)}, not canonical RAS+ (run preprocess)")
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    if not np.allclose(spacing, spacing[0], rtol=1e-3):
        raise CaseError(f"{where}: spacing {np.round(spacing, 4).tolist()} mm is not isotropic (run preprocess)")


def load_image(path: Path, folder: Path) -> nib.Nifti1Image:
    """Open one NIfTI volume lazily; raise CaseError if it is missing, unreadable or not 3D."""
    if not path.is_file():
        raise CaseError(f"{folder}: {path.name} is missing", f"no {path.name}")
    try:
        img = nib.load(path)
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise CaseError(f"{folder}: {path.name} cannot be read as NIfTI ({exc})", "unreadable file") from None
    if len(img.shape) != 3:
        raise CaseError(f"{folder}: {path.name} is not a 3D volume (shape {img.shape})")
    return img


def save_image(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    """Save one volume as NIfTI with the affine as both qform and sform (scanner space, mm)."""
    img = nib.Nifti1Image(array, affine)
    img.header.set_xyzt_units("mm")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.set_data_dtype(array.dtype)
    nib.save(img, path)


def _as_contract_dtype(data: np.ndarray, name: str, dtype: type, folder: Path) -> np.ndarray:
    """Cast a loaded volume to its contract dtype, refusing values the cast would change."""
    if data.dtype == dtype:
        return data
    bad = int(np.count_nonzero(~np.isfinite(data)))
    if bad:
        raise CaseError(f"{folder}: {name}.nii.gz holds {bad} NaN or infinite values", "NaN values")
    info = np.iinfo(dtype)
    if data.min() < info.min or data.max() > info.max or np.any(data != np.round(data)):
        raise CaseError(f"{folder}: {name}.nii.gz holds values that are not {np.dtype(dtype).name}")
    return data.astype(dtype)
