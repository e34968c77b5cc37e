"""The four anatomy measures of the paper's evaluation (Tables I–IV, Fig. 5) for one CT.

Each measure works from the CT alone through the rule-based masks of `segmentation`, or from external masks
(for example TotalSegmentator's) given for some structures; the names are those of the phantoms' `truth`.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from generator.data.truth import cardiothoracic_ratio
from generator.metrics.segmentation import segment

MEASURES = ("effusion_ml", "ctr", "laa950_percent", "airway_mm3")
STRUCTURES = ("airway", "lung", "effusion", "heart")
# File names accepted for external masks in a case's mask folder; TotalSegmentator's names are aliases.
MASK_FILES = {
    "airway": ("airway", "lung_trachea_bronchia", "trachea"),
    "lung": (
        "lung",
        "lung_upper_lobe_left",
        "lung_lower_lobe_left",
        "lung_upper_lobe_right",
        "lung_middle_lobe_right",
        "lung_lower_lobe_right",
    ),
    "effusion": ("effusion", "pleural_effusion"),
    "heart": ("heart",),
}


class MeasureError(Exception):
    """A CT or mask that cannot be measured, said with the file and what is wrong."""


def measure(ct: np.ndarray, spacing: float, masks: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """effusion_ml, ctr, laa950_percent and airway_mm3 of one CT (HU, isotropic `spacing` mm); `masks`
    replaces the rule-based mask of any structure it names (airway, lung, effusion, heart)."""
    masks = dict(masks or {})
    unknown = set(masks) - set(STRUCTURES)
    if unknown:
        raise MeasureError(f"unknown mask name(s) {sorted(unknown)}; expected some of {list(STRUCTURES)}")
    if not set(STRUCTURES) <= set(masks):
        auto = segment(ct, spacing)
        for name in STRUCTURES:
            masks.setdefault(name, getattr(auto, name))
    voxel = spacing**3
    lung, heart = masks["lung"] & ~masks["airway"], masks["heart"]
    thorax = lung | masks["effusion"] | heart
    return {
        "effusion_ml": round(float(masks["effusion"].sum()) * voxel / 1000, 2),
        "ctr": round(cardiothoracic_ratio(heart, thorax), 4),
        "laa950_percent": round(100 * float((ct[lung] < -950).mean()) if lung.any() else 0.0, 4),
        "airway_mm3": round(float(masks["airway"].sum()) * voxel, 1),
    }


def read_masks(folder: Path, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """External masks from a folder (NIfTI files named as in MASK_FILES; lobe files are merged into lung)."""
    masks: dict[str, np.ndarray] = {}
    for name, files in MASK_FILES.items():
        for stem in files:
            path = Path(folder) / f"{stem}.nii.gz"
            if not path.is_file():
                continue
            try:
                data = np.asanyarray(nib.load(str(path)).dataobj)
            except Exception as exc:  # nibabel raises several types for unreadable files
                raise MeasureError(f"{path}: not a readable NIfTI file ({exc})") from None
            if data.shape != tuple(shape):
                raise MeasureError(f"{path}: mask shape {data.shape} differs from the CT's {tuple(shape)}")
            masks[name] = masks.get(name, np.zeros(shape, bool)) | (data > 0)
    return masks
