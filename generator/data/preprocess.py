"""Real data to training data: reorient to RAS+, resample to an isotropic target grid, clip HU, check reports.

Source cases are folders with `ct`, `lobes`, `airway` and `vessels` volumes (`.nii.gz` or `.nii`, any
orientation, spacing and dtype) and `report.txt`. The target grid is size³ voxels of `spacing` mm, centred on
the source volume's centre (the paper: 1 mm, 256³ after affine pre-alignment, section V-A).
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import nibabel as nib
import numpy as np

from contracts.resampling import centred_grid, resample
from contracts.volumes import HU_CLIP
from generator.data.cases import (
    LOBE_MAX,
    MASKS,
    MISSING_HINT,
    VOLUMES,
    Case,
    CaseError,
    load_image,
    read_meta,
    write_case,
)
from generator.ingest.runs import Outcome, made, run_jobs
from generator.text.sections import parse_report


def preprocess_all(
    src: Path,
    out: Path,
    size: int = 256,
    spacing: float = 1.0,
    *,
    allow_missing_masks: bool = False,
    workers: int = 1,
) -> list[Outcome]:
    """Preprocess every case folder under `src` into `out` on `workers` processes; a bad case is refused with
    its reason, never fatal. Raise CaseError for settings or folders that make the whole run pointless."""
    src, out = Path(src), Path(out)
    if not (math.isfinite(spacing) and spacing > 0):
        raise CaseError(f"--spacing must be a positive number of mm, got {spacing}")
    if not src.is_dir():
        raise CaseError(f"{src}: no such source folder")
    if out.resolve() == src.resolve() or src.resolve() in out.resolve().parents:
        raise CaseError(f"{out}: --out must not be --src or inside it (it would overwrite or mix with the raw cases)")
    folders = sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise CaseError(f"{src}: holds no case folders")
    work = partial(_preprocess_one, out=out, size=size, spacing=spacing, allow_missing_masks=allow_missing_masks)
    return run_jobs(work, folders, name=lambda folder: folder.name, workers=workers, desc="preprocess")


def _preprocess_one(folder: Path, out: Path, size: int, spacing: float, allow_missing_masks: bool) -> Outcome:
    """Worker: preprocess one source case into out/<name>."""
    case = preprocess_case(folder, size, spacing, allow_missing_masks)
    write_case(case, out / folder.name)
    return made(folder.name, f"without {', '.join(case.missing)}" if case.missing else "")


def preprocess_case(folder: Path, size: int = 256, spacing: float = 1.0, allow_missing_masks: bool = False) -> Case:
    """Load one source case, check it, and resample its volumes onto the canonical target grid; with
    `allow_missing_masks` absent masks are recorded in `Case.missing` instead of refused."""
    ct_img = load_image(_volume_path(folder, "ct"), folder)
    absent = [name for name in MASKS if not _volume_path(folder, name).is_file()]
    if absent and not allow_missing_masks:
        raise CaseError(f"{folder}: no {', '.join(absent)} volume ({MISSING_HINT})", "no masks")
    images = {name: load_image(_volume_path(folder, name), folder) for name in VOLUMES if name not in absent}
    for name, img in images.items():
        if img.shape != ct_img.shape:
            raise CaseError(f"{folder}: {name} has shape {img.shape} but ct has {ct_img.shape}", "grid mismatch")
        if not np.allclose(img.affine, ct_img.affine, atol=1e-3):
            raise CaseError(f"{folder}: {name} has a different affine from ct", "grid mismatch")
    report = _read_report(folder)
    meta = read_meta(folder)
    source = ct_img.get_fdata(dtype=np.float32)
    bad = int(np.count_nonzero(~np.isfinite(source)))
    if bad:
        raise CaseError(f"{folder}: ct holds {bad} NaN or infinite values", "NaN values")
    grid = (size, size, size)
    target = centred_grid(ct_img.affine, ct_img.shape, grid, spacing)
    ct = resample(source, ct_img.affine, grid, spacing, order=1, fill=HU_CLIP[0])
    volumes = {"ct": np.rint(np.clip(ct, *HU_CLIP)).astype(np.int16)}
    for name in MASKS:
        if name in absent:
            volumes[name] = np.zeros((size,) * 3, np.uint8)
            continue
        data = np.asanyarray(images[name].dataobj)
        if not np.all(np.isfinite(data)) or np.any(data < 0) or np.any(data != np.round(data)):
            raise CaseError(f"{folder}: {name} is not an integer label volume", "bad mask")
        if name == "lobes" and data.max(initial=0) > LOBE_MAX:
            raise CaseError(
                f"{folder}: lobes has label {int(data.max())}; expected 0..{LOBE_MAX} (lungmask)", "bad mask"
            )
        labels = resample(
            data.astype(np.uint8 if name == "lobes" else bool).astype(np.uint8),
            ct_img.affine,
            grid,
            spacing,
            order=0,
            fill=0,
        )
        volumes[name] = labels.astype(np.uint8)
    meta["preprocess"] = {
        "source": str(folder),
        "source_shape": list(ct_img.shape),
        "source_spacing_mm": [round(float(v), 4) for v in ct_img.header.get_zooms()[:3]],
        "source_orientation": "".join(nib.aff2axcodes(ct_img.affine)),
        "size": size,
        "spacing_mm": spacing,
    }
    return Case(**volumes, affine=target, report=report, meta=meta, missing=tuple(absent))


def _volume_path(folder: Path, name: str) -> Path:
    """The source file of one volume, `.nii.gz` preferred over `.nii`."""
    gz = folder / f"{name}.nii.gz"
    return gz if gz.is_file() or not (folder / f"{name}.nii").is_file() else folder / f"{name}.nii"


def _read_report(folder: Path) -> str:
    """The case's report; raise CaseError if it is missing or lacks a Findings or Impression section."""
    path = folder / "report.txt"
    if not path.is_file():
        raise CaseError(f"{folder}: report.txt is missing", "no report")
    text = path.read_text(errors="replace")
    sections = parse_report(text)
    missing = [
        name for name, body in (("FINDINGS", sections.findings), ("IMPRESSION", sections.impression)) if not body
    ]
    if missing:
        raise CaseError(f"{folder}: report.txt has no {' and no '.join(missing)} section", "bad report")
    return text
