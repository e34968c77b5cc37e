"""Normalisation: read any 3D NIfTI and put it on the study grid in Hounsfield units, as int16, canonical RAS+.

What the study grid means: a box of `shape` voxels at `spacing` mm, axes along R, A and S, centred on the
centre of each volume's own field of view. Each volume is resampled by physical position (its affine), so
anatomy keeps its true size; a volume whose field of view is smaller than the box is padded with air
(-1024 HU) and a larger one is cropped around its centre. Readers may therefore see different amounts of
air around the body; the audit reports this per source as a field-of-view warning.

Refused before any voxel is read: more voxels than MAX_INPUT_VOXELS, complex or RGB data, 8-bit integers
without scaling. Refused once read: NaN or infinite values, "unit" data outside [-1, 1], "hu" data confined
to [-1, 1], and a study box smaller than half the body along any axis.

Dither: before rounding to whole HU, each voxel strictly inside the clip range gets seeded uniform noise of
+-amplitude HU, the amplitude being half the input's storage step and at least 0.5 HU (half the served step).
A source stored on a coarser lattice (int16 with slope 2, uint8 with scaling) is so spread evenly over whole
HU, odd and even alike, while whole-HU inputs already on the study grid are served unchanged. Padding (air
outside the field of view) and voxels at the clip bounds get no noise: every source's padding is one value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations

from contracts.resampling import resample
from contracts.volumes import HU_CLIP, HU_WINDOW
from studies.errors import StudyError

UNIT_HU = (HU_WINDOW[1] - HU_WINDOW[0]) / 2.0  # HU per stored unit of "unit" data
UNIT_TOLERANCE = 0.1  # "unit" data may overshoot [-1, 1] by this much (model outputs are rarely clamped exactly)
SERVED_STEP_HU = 1.0  # the served lattice: whole HU
MAX_INPUT_VOXELS = 1 << 29  # 536,870,912 voxels (e.g. 1024 x 1024 x 512): 2 GiB as float32 in one worker
MAX_SERVED_VOXELS = 512**3  # 134,217,728 voxels: already 256 MiB of int16 per scan in the reader's browser
MIN_BODY_FRACTION = 0.5  # the study box must hold at least this share of the body's extent along every axis
AXES = ("R-L", "A-P", "S-I")
# The dither stops this far short of its amplitude: float32 sums of HU up to 3071 (steps of 1/4096 HU) then never
# land exactly on a rounding tie, which numpy's rint would send to the even neighbour.
TIE_MARGIN_HU = 2.0**-11


@dataclass(frozen=True)
class Dither:
    """Seeded uniform noise of +-amplitude_hu added before rounding; `entropy` seeds numpy's generator."""

    entropy: tuple[int, ...]
    amplitude_hu: float

    def noise(self, shape: tuple[int, ...]) -> np.ndarray:
        """Float32 noise, uniform on +-(amplitude_hu - TIE_MARGIN_HU), the same for the same entropy."""
        noise = np.random.default_rng(np.random.SeedSequence(self.entropy)).random(shape, dtype=np.float32)
        noise -= np.float32(0.5)
        noise *= np.float32(2.0 * (self.amplitude_hu - TIE_MARGIN_HU))
        return noise


def open_volume(file: Path, label: str) -> nib.Nifti1Image:
    """A lazily loaded 3D NIfTI image; a StudyError naming `label` when it is unreadable, not 3D, too large or
    stored in a type that cannot hold CT values (checked from the header alone).
    """
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
    voxels = int(np.prod(shape, dtype=object))
    if voxels > MAX_INPUT_VOXELS:
        raise StudyError(
            f"{label}: {file}: its header promises {voxels:,} voxels ({' x '.join(map(str, shape))}), more than the "
            f"limit of {MAX_INPUT_VOXELS:,} per input volume ({4 * MAX_INPUT_VOXELS >> 30} GiB in memory); nothing "
            "was read. Crop or downsample it first"
        )
    affine = image.affine
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise StudyError(f"{label}: {file} has an invalid affine (voxel-to-world matrix)")
    _check_stored_type(image, file, label)
    return image


def _check_stored_type(image: nib.Nifti1Image, file: Path, label: str) -> None:
    """Refuse storage that cannot hold CT values as the header describes them: complex, RGB, unscaled 8-bit."""
    dtype = image.get_data_dtype()
    if dtype.fields is not None or dtype.kind == "c":
        kind = "RGB colour" if dtype.fields is not None else f"complex numbers ({dtype})"
        raise StudyError(
            f"{label}: {file} stores {kind}; a CT volume has one real value per voxel. "
            "Save the values you mean (e.g. the real part or the magnitude) as a real-valued NIfTI"
        )
    if dtype.kind in "iu" and dtype.itemsize == 1 and image.dataobj.slope == 1 and image.dataobj.inter == 0:
        raise StudyError(
            f"{label}: {file} stores 8-bit integers ({dtype}, {np.iinfo(dtype).min} to {np.iinfo(dtype).max}) with "
            "no scaling (scl_slope/scl_inter unset), so nothing says which Hounsfield units they stand for. "
            "Write the scaling into the header (e.g. nibabel's set_slope_inter) or convert the file to HU"
        )


def storage_step_hu(image: nib.Nifti1Image, intensity: str) -> float:
    """HU between neighbouring storable values: |scl_slope| for integer storage (times UNIT_HU for "unit" data);
    0 for floating-point storage, whose step is far below one HU.
    """
    if image.get_data_dtype().kind not in "iu":
        return 0.0
    return abs(float(image.dataobj.slope)) * (UNIT_HU if intensity == "unit" else 1.0)


def dither_amplitude_hu(step_hu: float) -> float:
    """Half the storage step, at least half the served step: the noise that spreads each stored value evenly over
    the whole HU it may stand for.
    """
    return max(step_hu, SERVED_STEP_HU) / 2.0


def field_of_view_mm(image: nib.Nifti1Image) -> tuple[float, float, float]:
    """The extent (mm) the image covers along R-L, A-P and S-I: voxels times voxel size, in canonical axis order."""
    sizes = np.linalg.norm(image.affine[:3, :3], axis=0)
    extent = [0.0, 0.0, 0.0]
    for axis, (target, _) in enumerate(orientations.io_orientation(image.affine)):
        extent[int(target)] = float(image.shape[axis] * sizes[axis])
    return tuple(extent)


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
    _check_intensity(data, intensity, image.get_filename(), label)
    if intensity == "unit":
        low, high = HU_WINDOW  # model outputs in [-1, 1] map to the models' HU window
        data = (data + 1.0) * ((high - low) / 2.0) + low
    return data


def _check_intensity(data: np.ndarray, intensity: str, file: str, label: str) -> None:
    """Refuse values that contradict the declared convention: "unit" beyond [-1, 1], "hu" confined to [-1, 1]."""
    low, high = float(data.min()), float(data.max())
    within_unit = -1.0 - UNIT_TOLERANCE <= low and high <= 1.0 + UNIT_TOLERANCE
    if intensity == "unit" and not within_unit:
        raise StudyError(
            f'{label}: {file}: intensity = "unit" means values in [-1, 1], but they span [{low:g}, {high:g}]; '
            'if these are Hounsfield units, set intensity = "hu"'
        )
    if intensity == "hu" and within_unit:
        raise StudyError(
            f"{label}: {file}: values span [{low:g}, {high:g}], the [-1, 1] range of model outputs, not Hounsfield "
            "units (CT runs from about -1000 for air upwards); if [-1, 1] stands for "
            f'[{HU_WINDOW[0]:g}, {HU_WINDOW[1]:g}] HU, set intensity = "unit"'
        )


def check_body_fits(
    hu: np.ndarray, affine: np.ndarray, shape: tuple[int, int, int], spacing: float, file: str, label: str
) -> None:
    """Refuse a study box shorter than MIN_BODY_FRACTION of the body (voxels above the audit's BODY_HU) along any
    axis: readers would see a fragment of tissue, whatever the manifest says about cropping.
    """
    from studies.appearance import BODY_HU, body_extent_mm  # here, not at the top: appearance imports this module

    ornt = orientations.io_orientation(affine)
    canonical = orientations.apply_orientation(hu[::2, ::2, ::2], ornt)  # every other voxel: ample for an extent
    sizes = np.zeros(3)
    for axis, (target, _) in enumerate(ornt):
        sizes[int(target)] = 2.0 * float(np.linalg.norm(affine[:3, axis]))
    body = np.asarray(body_extent_mm(canonical, 1.0)) * sizes
    box = spacing * np.asarray(shape, dtype=float)
    short = [axis for axis in range(3) if box[axis] < MIN_BODY_FRACTION * body[axis]]
    if short:
        along = ", ".join(f"{AXES[a]} ({box[a]:g} mm of a {body[a]:.0f} mm body)" for a in short)
        raise StudyError(
            f"{label}: {file}: the study box holds less than half the body (voxels above {BODY_HU} HU) along "
            f"{along}; readers would see a fragment. Check [study] shape (voxels) and spacing (mm per voxel)"
        )


def to_served(hu: np.ndarray, clip: tuple[int, int] = HU_CLIP, dither: Dither | None = None) -> np.ndarray:
    """HU rounded (after the dither, strictly inside the clip range: see the module docstring), clipped to `clip` and
    cast to int16: the served voxel type. May change `hu` in place.
    """
    low, high = clip
    if dither is not None:
        noise = dither.noise(hu.shape)
        noise[(hu <= low) | (hu >= high)] = 0.0
        hu += noise
    return np.clip(np.rint(hu), low, high).astype(np.int16)


def normalise(
    file: Path,
    intensity: str,
    shape: tuple[int, int, int],
    spacing: float,
    label: str,
    *,
    clip: tuple[int, int] = HU_CLIP,
    dither: Dither | None = None,
) -> np.ndarray:
    """Read one volume and return it on the study grid as int16 HU (canonical RAS+, trilinear, dithered, clipped)."""
    image = open_volume(file, label)
    hu = read_hu(image, intensity, label)
    check_body_fits(hu, image.affine, shape, spacing, str(file), label)
    return to_served(resample(hu, image.affine, shape, spacing, snap_whole_voxels=True), clip, dither)
