"""Real data to training data: reorient to RAS+, resample to an isotropic target grid, clip HU, check reports.

Source cases are folders with `ct`, `lobes`, `airway` and `vessels` volumes (`.nii.gz` or `.nii`, any
orientation, spacing and dtype) and `report.txt`. The target grid is size³ voxels of `spacing` mm, centred on
the source volume's centre (the paper: 1 mm, 256³ after affine pre-alignment, section V-A).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from tqdm import tqdm

from contracts.resampling import centred_grid, resample
from contracts.volumes import HU_CLIP
from generator.data.cases import LOBE_MAX, VOLUMES, Case, CaseError, load_image, write_case
from generator.text.sections import parse_report


@dataclass
class Summary:
    """What a preprocessing run wrote and what it skipped, with the reason for each skip."""

    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def preprocess_all(src: Path, out: Path, size: int = 256, spacing: float = 1.0) -> Summary:
    """Preprocess every case folder under `src` into `out`; a bad case is recorded and skipped, never fatal."""
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise CaseError(f"{src}: no such source folder")
    folders = sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise CaseError(f"{src}: holds no case folders")
    summary = Summary()
    for folder in tqdm(folders, desc="preprocess", unit="case"):
        try:
            case = preprocess_case(folder, size, spacing)
            write_case(case, out / folder.name)
            summary.written.append(out / folder.name)
        except CaseError as exc:
            summary.skipped.append(str(exc))
        except Exception as exc:  # a corrupt file fails deep inside nibabel, gzip or zlib: skip, never abort
            summary.skipped.append(f"{folder}: cannot be read ({type(exc).__name__}: {exc})")
    return summary


def preprocess_case(folder: Path, size: int = 256, spacing: float = 1.0) -> Case:
    """Load one source case, check it, and resample all four volumes onto the canonical target grid."""
    images = {name: load_image(_volume_path(folder, name), folder) for name in VOLUMES}
    ct_img = images["ct"]
    for name, img in images.items():
        if img.shape != ct_img.shape:
            raise CaseError(f"{folder}: {name} has shape {img.shape} but ct has {ct_img.shape}")
        if not np.allclose(img.affine, ct_img.affine, atol=1e-3):
            raise CaseError(f"{folder}: {name} has a different affine from ct")
    report = _read_report(folder)
    grid = (size, size, size)
    target = centred_grid(ct_img.affine, ct_img.shape, grid, spacing)
    ct = resample(ct_img.get_fdata(dtype=np.float32), ct_img.affine, grid, spacing, order=1, fill=HU_CLIP[0])
    volumes = {"ct": np.rint(np.clip(ct, *HU_CLIP)).astype(np.int16)}
    for name in ("lobes", "airway", "vessels"):
        data = np.asanyarray(images[name].dataobj)
        if not np.all(np.isfinite(data)) or np.any(data < 0) or np.any(data != np.round(data)):
            raise CaseError(f"{folder}: {name} is not an integer label volume")
        if name == "lobes" and data.max(initial=0) > LOBE_MAX:
            raise CaseError(f"{folder}: lobes has label {int(data.max())}; expected 0..{LOBE_MAX} (lungmask)")
        labels = resample(
            data.astype(np.uint8 if name == "lobes" else bool).astype(np.uint8),
            ct_img.affine,
            grid,
            spacing,
            order=0,
            fill=0,
        )
        volumes[name] = labels.astype(np.uint8)
    meta = _read_meta(folder)
    meta["preprocess"] = {
        "source": str(folder),
        "source_shape": list(ct_img.shape),
        "source_spacing_mm": [round(float(v), 4) for v in ct_img.header.get_zooms()[:3]],
        "source_orientation": "".join(nib.aff2axcodes(ct_img.affine)),
        "size": size,
        "spacing_mm": spacing,
    }
    return Case(**volumes, affine=target, report=report, meta=meta)


def _volume_path(folder: Path, name: str) -> Path:
    """The source file of one volume, `.nii.gz` preferred over `.nii`."""
    gz = folder / f"{name}.nii.gz"
    return gz if gz.is_file() or not (folder / f"{name}.nii").is_file() else folder / f"{name}.nii"


def _read_report(folder: Path) -> str:
    """The case's report; raise CaseError if it is missing or lacks a Findings or Impression section."""
    path = folder / "report.txt"
    if not path.is_file():
        raise CaseError(f"{folder}: report.txt is missing")
    text = path.read_text(errors="replace")
    sections = parse_report(text)
    missing = [
        name for name, body in (("FINDINGS", sections.findings), ("IMPRESSION", sections.impression)) if not body
    ]
    if missing:
        raise CaseError(f"{folder}: report.txt has no {' and no '.join(missing)} section")
    return text


def _read_meta(folder: Path) -> dict:
    """The source meta.json if there is one (kept and extended), else an empty dict."""
    path = folder / "meta.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CaseError(f"{folder}: meta.json is not valid JSON ({exc})") from None
