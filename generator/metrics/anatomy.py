"""The four anatomy measures of the paper's evaluation (Tables I–IV, Fig. 5) for one CT, and a noise-robust
effusion measure for generated volumes.

Each measure works from the CT alone through the rule-based masks of `segmentation`, or from external masks
(for example TotalSegmentator's) given for some structures; the names are those of the phantoms' `truth`.

`effusion_ml` is the strict rule: fluid is −40..25 HU after smoothing, which holds for real scans and phantoms
(10–18 HU noise) but not for generated volumes, whose speckle and offset move fluid out of that window (40 HU of
noise already loses a third of it, a +15 HU offset most of it). `effusion_ml_robust` applies the same rule
after removing the volume's own HU offset, estimated from its fat (the histogram peak of the median-filtered CT
between −250 and −40 HU is taken for −100 HU), with tissue chosen by its 3×3×3 median and averaged by a Gaussian
widened to the noise measured in the volume (so that about 7 HU of it remain). The README's table and
tests/generator/metrics/test_metrics_anatomy.py give both against the phantoms' truth at 0–80 HU of noise and
±20 HU of offset.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from generator.data.truth import cardiothoracic_ratio
from generator.metrics.segmentation import TISSUE_HU, body_mask, effusion_mask, segment

MEASURES = ("effusion_ml", "ctr", "laa950_percent", "airway_mm3")
ROBUST_MEASURES = ("effusion_ml_robust",)
EXPERIMENT_MEASURES = MEASURES + ROBUST_MEASURES  # what a prompt experiment may test
FAT_HU = -100.0  # the phantoms' fat (generator.data.anatomy.HU), close to real subcutaneous fat
FAT_SEARCH_HU = (-250.0, 50.0)
MIN_FAT_VOXELS = 200
FAT_PROMINENCE = 1.25  # a fat peak stands this far above the valley between it and soft tissue
RESIDUAL_HU = 7.0  # noise left after the robust measure's smoothing: a sixth of the fluid-to-muscle gap
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


def measure(
    ct: np.ndarray, spacing: float, masks: dict[str, np.ndarray] | None = None, robust: bool = False
) -> dict[str, float]:
    """effusion_ml, ctr, laa950_percent and airway_mm3 of one CT (HU, isotropic `spacing` mm), and with `robust`
    also effusion_ml_robust; `masks` replaces the rule-based mask of any structure it names (airway, lung,
    effusion, heart)."""
    masks = dict(masks or {})
    unknown = set(masks) - set(STRUCTURES)
    if unknown:
        raise MeasureError(f"unknown mask name(s) {sorted(unknown)}; expected some of {list(STRUCTURES)}")
    body = None
    if not set(STRUCTURES) <= set(masks):
        auto = segment(ct, spacing)
        body = auto.body
        for name in STRUCTURES:
            masks.setdefault(name, getattr(auto, name))
    voxel = spacing**3
    lung, heart = masks["lung"] & ~masks["airway"], masks["heart"]
    thorax = lung | masks["effusion"] | heart
    values = {
        "effusion_ml": round(float(masks["effusion"].sum()) * voxel / 1000, 2),
        "ctr": round(cardiothoracic_ratio(heart, thorax), 4),
        "laa950_percent": round(100 * float((ct[lung] < -950).mean()) if lung.any() else 0.0, 4),
        "airway_mm3": round(float(masks["airway"].sum()) * voxel, 1),
    }
    if robust:
        body = body_mask(np.asarray(ct, np.float32)) if body is None else body
        fluid = robust_effusion_mask(ct, spacing, body, masks["lung"])
        values["effusion_ml_robust"] = round(float(fluid.sum()) * voxel / 1000, 2)
    return values


def robust_effusion_mask(ct: np.ndarray, spacing: float, body: np.ndarray, lung: np.ndarray) -> np.ndarray:
    """The strict effusion rule on the CT smoothed over tissue with its fat-estimated HU offset removed."""
    ct = np.asarray(ct, np.float32)
    median = ndimage.median_filter(ct, size=3)
    offset = hu_offset(ndimage.gaussian_filter(median, 1.0), body)
    ct, median = ct - offset, median - offset
    noise = noise_sd(ct, median)
    # tissue: its median in −50..150 HU and its own value within 2.5 noise sds of that window (keeps fat out)
    tissue = (median > TISSUE_HU[0]) & (median < TISSUE_HU[1])
    tissue &= (ct > TISSUE_HU[0] - 2.5 * noise) & (ct < TISSUE_HU[1] + 2.5 * noise)
    smooth = tissue_average(ct, tissue, smoothing_sigma(noise))
    return effusion_mask(np.where(tissue, median, -1000.0), smooth, body, lung, spacing)


def noise_sd(ct: np.ndarray, median: np.ndarray) -> float:
    """The CT's noise (HU): a robust spread (1.4826 × median absolute deviation) of the CT minus its median over
    tissue voxels."""
    tissue = (median > TISSUE_HU[0]) & (median < TISSUE_HU[1])
    if not tissue.any():
        return 0.0
    residual = (ct - median)[tissue]
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))


def smoothing_sigma(noise: float) -> float:
    """The Gaussian (voxels) that averages i.i.d. noise of `noise` HU down to RESIDUAL_HU, at least one voxel (the
    strict rule's): a Gaussian of σ voxels divides the noise's sd by (2√π·σ)^(3/2)."""
    return max(1.0, (noise / RESIDUAL_HU) ** (2 / 3) / (2 * np.sqrt(np.pi)))


def tissue_average(ct: np.ndarray, tissue: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian average of the raw CT over the `tissue` voxels (chosen by their median, so lung, fat and bone stay
    out without the bias of choosing them by their noisy value alone); −1000 where no tissue is near."""
    weight = tissue.astype(np.float32)
    num = ndimage.gaussian_filter(ct * weight, sigma)
    den = ndimage.gaussian_filter(weight, sigma)
    return np.where(den > 0.05, num / np.maximum(den, 1e-6), -1000.0).astype(np.float32)


def hu_offset(smooth: np.ndarray, body: np.ndarray) -> float:
    """How far the volume's fat peak (the histogram mode between −250 and −40 HU inside the body) lies from
    −100 HU; 0 when too few voxels fall in the window or when the fat side shows no peak of its own (a mode at
    the window's edge, or one that stands less than FAT_PROMINENCE above the valley towards soft tissue): generated
    volumes often blur thin fat into its neighbours, and the edge of a rising ramp is no fat."""
    values = smooth[body]
    values = values[(values > FAT_SEARCH_HU[0]) & (values < FAT_SEARCH_HU[1])]
    if values.size < MIN_FAT_VOXELS:
        return 0.0
    counts, edges = np.histogram(values, bins=np.arange(FAT_SEARCH_HU[0], FAT_SEARCH_HU[1] + 5, 5.0))
    counts = ndimage.gaussian_filter1d(counts.astype(float), 1.0)
    fat_side = np.nonzero((edges[:-1] + 2.5) < -40)[0]  # the fat mode, not the (larger) soft-tissue mode above it
    peak = int(fat_side[np.argmax(counts[fat_side])])
    soft_mode = int(np.argmax(counts))
    valley = (counts[peak : soft_mode + 1] if soft_mode > peak else counts[peak:]).min()
    if peak in (fat_side[0], fat_side[-1]) or counts[peak] < FAT_PROMINENCE * valley:
        return 0.0
    return float(edges[peak] + 2.5 - FAT_HU)


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
