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
from scipy import ndimage

from studies.errors import StudyError

HU_MIN, HU_MAX = -1024, 3071  # the range served volumes are clipped to (12-bit CT)
UNIT_WINDOW = (-1024.0, 600.0)  # the paper's HU window that model outputs in [-1, 1] map to
AIR = float(HU_MIN)


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
        low, high = UNIT_WINDOW
        data = (data + 1.0) * ((high - low) / 2.0) + low
    return data


def grid_affine(shape: tuple[int, int, int], spacing: float) -> np.ndarray:
    """The served voxel-to-world matrix: RAS+ axes at `spacing` mm, grid centre at the origin; the same for every
    volume.
    """
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = -spacing * (np.asarray(shape, dtype=float) - 1.0) / 2.0
    return affine


def resample(data: np.ndarray, affine: np.ndarray, shape: tuple[int, int, int], spacing: float) -> np.ndarray:
    """Trilinear resampling of `data` (voxel-to-world `affine`) onto the study grid centred on the data's own centre."""
    ornt = orientations.io_orientation(affine)
    affine = affine @ orientations.inv_ornt_aff(ornt, data.shape)
    data = orientations.apply_orientation(data, ornt)
    source_centre = affine @ np.append((np.asarray(data.shape) - 1.0) / 2.0, 1.0)
    target = grid_affine(shape, spacing)
    target[:3, 3] += source_centre[:3]
    voxel_map = np.linalg.inv(affine) @ target  # target voxel index -> source voxel index
    matrix, offset = voxel_map[:3, :3], voxel_map[:3, 3]
    # Same spacing: snap the centring to whole voxels rather than blur by half a voxel.
    if np.allclose(matrix, np.eye(3), atol=1e-6):
        return _shift(data, np.floor(offset + 0.5).astype(int), shape)
    return _sample_in_memory_order(data, matrix, offset, shape)


def _sample_in_memory_order(
    data: np.ndarray, matrix: np.ndarray, offset: np.ndarray, shape: tuple[int, int, int]
) -> np.ndarray:
    """scipy's trilinear affine_transform, run on the axes in memory order (NIfTI arrays are Fortran-ordered: 4x
    faster).
    """
    order = np.argsort([-abs(stride) for stride in data.strides], kind="stable")
    matrix, offset = matrix[np.ix_(order, order)], offset[order]
    if np.allclose(matrix, np.diag(np.diag(matrix)), atol=1e-6):
        matrix = np.diag(matrix)  # axis-aligned: scipy's faster separable path
    sampled = ndimage.affine_transform(
        data.transpose(order),
        matrix,
        offset=offset,
        output_shape=tuple(np.asarray(shape)[order]),
        order=1,
        mode="constant",
        cval=AIR,
        output=np.float32,
    )
    return sampled.transpose(np.argsort(order))


def _shift(data: np.ndarray, start: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Copy the window of `data` starting at voxel `start` with `shape` voxels, padding outside with air: an exact
    integer shift.
    """
    out = np.full(shape, AIR, dtype=np.float32)
    source = [slice(max(s, 0), min(s + n, d)) for s, n, d in zip(start, shape, data.shape)]
    target = [slice(sl.start - s, sl.stop - s) for sl, s in zip(source, start)]
    if all(sl.stop > sl.start for sl in source):
        out[tuple(target)] = data[tuple(source)]
    return out


def to_served(hu: np.ndarray) -> np.ndarray:
    """HU rounded, clipped to the 12-bit CT range and cast to int16: the served voxel type."""
    return np.clip(np.rint(hu), HU_MIN, HU_MAX).astype(np.int16)


def normalise(file: Path, intensity: str, shape: tuple[int, int, int], spacing: float, label: str) -> np.ndarray:
    """Read one volume and return it on the study grid as int16 HU (canonical RAS+, trilinear, clipped)."""
    image = open_volume(file, label)
    return to_served(resample(read_hu(image, intensity, label), image.affine, shape, spacing))
