"""Chest-like test volumes written the way different sources write them (dtype, orientation, grid, intensity, headers).

For tests, the build benchmark and demos of `build`/`audit`: the anatomy is analytic in millimetres around
the volume's centre (body, two lungs, heart on the patient's left, spine), with soft edges, so the same
chest written in any orientation or grid resamples to the same served volume.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations

from contracts.volumes import HU_WINDOW

EDGE_MM = 6.0  # width of the soft organ boundaries

# (centre x, y, z in RAS mm), (radii mm), HU inside; later entries paint over earlier ones
ORGANS = (
    ((0.0, 0.0, 0.0), (150.0, 110.0, 400.0), 40.0),  # body: an elliptic cylinder (long in z)
    ((-62.0, 5.0, 20.0), (50.0, 70.0, 110.0), -850.0),  # left lung (x < 0 is the patient's left in RAS+)
    ((62.0, 5.0, 20.0), (50.0, 70.0, 110.0), -850.0),  # right lung
    ((-25.0, 35.0, -20.0), (45.0, 40.0, 45.0), 45.0),  # heart, towards the left
    ((0.0, -80.0, 0.0), (16.0, 16.0, 400.0), 700.0),  # spine
)


def chest_hu(points: np.ndarray) -> np.ndarray:
    """HU of the analytic chest at RAS points (mm, shape (..., 3)) relative to its centre; air outside the body."""
    hu = np.full(points.shape[:-1], -1000.0, dtype=np.float32)
    for centre, radii, value in ORGANS:
        scaled = (points - np.float32(centre)) / np.float32(radii)
        distance = (np.sqrt(np.einsum("...i,...i->...", scaled, scaled)) - np.float32(1.0)) * np.float32(
            min(radii) * 4.0 / EDGE_MM
        )
        inside = np.float32(1.0) / (
            np.float32(1.0) + np.exp(np.clip(distance, -50, 50))
        )  # soft edge: a logistic of the distance
        hu += inside * (np.float32(value) - hu)
    return hu


def oriented_affine(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    axcodes: str,
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """Voxel-to-world matrix with axes along `axcodes` (e.g. "LPS"), voxel sizes `spacing`, volume centre at
    `origin`.
    """
    ornt = orientations.axcodes2ornt(tuple(axcodes))  # voxel axis i -> RAS axis ornt[i, 0] with sign ornt[i, 1]
    affine = np.eye(4)
    affine[:3, :3] = 0.0
    for axis, (target, sign) in enumerate(ornt):
        affine[int(target), axis] = sign * spacing[axis]
    centre = affine[:3, :3] @ ((np.asarray(shape) - 1.0) / 2.0)
    affine[:3, 3] = np.asarray(origin) - centre
    return affine


def chest_volume(shape: tuple[int, int, int], affine: np.ndarray, noise_hu: float = 0.0, seed: int = 0) -> np.ndarray:
    """Float32 HU of the chest sampled on a grid (centred at the affine's image of the volume centre), plus Gaussian
    noise.

    Sampled a slab of the first axis at a time, so 512² × 300 scanner-sized grids fit in modest memory.
    """
    centre = (np.asarray(shape) - 1.0) / 2.0
    rows, columns = np.meshgrid(
        np.arange(shape[1], dtype=np.float32), np.arange(shape[2], dtype=np.float32), indexing="ij"
    )
    matrix = affine[:3, :3].T.astype(np.float32)
    hu = np.empty(shape, dtype=np.float32)
    slab = max(1, 2_000_000 // (shape[1] * shape[2]))
    for start in range(0, shape[0], slab):
        first = np.arange(start, min(start + slab, shape[0]), dtype=np.float32)
        index = np.stack(np.broadcast_arrays(first[:, None, None], rows[None], columns[None]), axis=-1)
        hu[start : start + len(first)] = chest_hu((index - centre.astype(np.float32)) @ matrix)
    if noise_hu:
        hu += np.random.default_rng(seed).normal(0.0, noise_hu, size=shape).astype(np.float32)
    return hu


def write_chest(
    path: Path,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    axcodes: str = "RAS",
    dtype: str = "int16",
    intensity: str = "hu",
    noise_hu: float = 0.0,
    seed: int = 0,
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
    header_fields: dict[str, object] | None = None,
) -> Path:
    """Write the chest as a NIfTI file the way a source would: its dtype, axis order, grid, intensity convention and
    header.
    """
    affine = oriented_affine(shape, spacing, axcodes, origin)
    hu = chest_volume(shape, affine, noise_hu, seed)
    if intensity == "unit":
        low, high = HU_WINDOW
        data = (np.clip(hu, low, high) - low) / (high - low) * 2.0 - 1.0
    else:
        data = hu
    if np.issubdtype(np.dtype(dtype), np.integer) and dtype != "uint8":
        data = np.rint(data)
    image = nib.Nifti1Image(data.astype(np.float32 if dtype == "uint8" else dtype), affine)
    if dtype == "uint8":
        image.set_data_dtype(np.uint8)  # nibabel stores scl_slope/scl_inter to fit the HU range into bytes
    for field, value in (header_fields or {}).items():
        image.header[field] = value
    nib.save(image, str(path))
    return path
