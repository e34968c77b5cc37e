"""Normalisation: read any 3D NIfTI and put it on the study grid in Hounsfield units, as int16, canonical RAS+.

What the study grid means: a box of `shape` voxels at `spacing` mm, axes along R, A and S, centred on the
centre of each volume's own field of view. Each volume is resampled by physical position (its affine), so
anatomy keeps its true size; a volume whose field of view is smaller than the box is padded with air
(-1024 HU) and a larger one is cropped around its centre. Readers may therefore see different amounts of
air around the body; the audit reports this per source as a field-of-view warning.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations

from contracts.resampling import resample
from contracts.volumes import HU_CLIP, HU_WINDOW
from studies.errors import StudyError


def open_volume(file: Path, label: str) -> nib.Nifti1Image:
    """A lazily loaded 3D NIfTI image; a StudyError naming `label` when it is unreadable or not 3D."""
    try:
        image = nib.load(str(file))
    except Exception as error:  # nibabel raises many types for corrupt or foreign files
        raise StudyError(f"{label}: {file} is not a readable NIfTI file ({error})") from None
    if not isinstance(image, (nib.Nifti1Image, nib.Nifti2Image)):
        raise StudyError(f"{label}: {file} is a {type(image).__name__}, not a NIfTI file")
    shape = image.shape
    if not (len(shape) == 3 or (len(shape) == 4 and shape[3] == 1)):
        raise StudyError(f"{label}: {file} has shape {tuple(shape)}; expected a 3D volume")
    if min(shape[:3]) < 2:
        raise StudyError(f"{label}: {file} has shape {tuple(shape)}; every axis needs at least two voxels")
    affine = image.affine
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise StudyError(f"{label}: {file} has an invalid affine (voxel-to-world matrix)")
    return image


def canonical_shape(image: nib.Nifti1Image) -> tuple[int, int, int]:
    """The voxel shape the image has once its axes are reordered to the closest RAS+ orientation."""
    ornt = orientations.io_orientation(image.affine)
    shape = [0, 0, 0]
    for axis, (target, _) in enumerate(ornt):
        shape[int(target)] = int(image.shape[axis])
    return tuple(shape)


def read_hu(image: nib.Nifti1Image, intensity: str, label: str) -> np.ndarray:
    """The voxels as float32 Hounsfield units: header scaling applied, `unit` data mapped from [-1, 1]."""
    try:
        data = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as error:
        raise StudyError(f"{label}: cannot read the voxels of {image.get_filename()} ({error})") from None
    data = data.reshape(image.shape[:3])
    if not np.all(np.isfinite(data)):
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise StudyError(f"{label}: {image.get_filename()} has {bad} NaN or infinite voxels")
    if intensity == "unit":
        low, high = HU_WINDOW  # model outputs in [-1, 1] map to the models' HU window
        data = (data + 1.0) * ((high - low) / 2.0) + low
    return data


def to_served(hu: np.ndarray) -> np.ndarray:
    """HU rounded, clipped to the 12-bit CT range and cast to int16: the served voxel type."""
    return np.clip(np.rint(hu), *HU_CLIP).astype(np.int16)


def normalise(file: Path, intensity: str, shape: tuple[int, int, int], spacing: float, label: str) -> np.ndarray:
    """Read one volume and return it on the study grid as int16 HU (canonical RAS+, trilinear, clipped)."""
    image = open_volume(file, label)
    return to_served(resample(read_hu(image, intensity, label), image.affine, shape, spacing, snap_whole_voxels=True))
