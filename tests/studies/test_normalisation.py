"""Normalisation: canonical RAS+, physical-space trilinear resampling centred per volume, HU mapping, clipping,
int16.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from bench.synthetic import chest_volume, write_chest
from contracts.resampling import grid_affine
from studies.errors import StudyError
from studies.normalise import Dither, normalise, to_served

GRID, SPACING = (32, 32, 32), 10.0
# The heart sits on the patient's left (RAS x = -25 mm) where the mirror position (x = +25 mm) is right lung.
HEART, MIRROR = (13, 19, 13), (18, 19, 13)


def served(path: Path, intensity: str = "hu", grid=GRID, spacing=SPACING) -> np.ndarray:
    return normalise(path, intensity, grid, spacing, "test volume")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> np.ndarray:
    """The chest written straight onto the study grid in RAS+ int16: served as an exact copy."""
    return served(write_chest(tmp_path_factory.mktemp("ref") / "ref.nii.gz", GRID, (SPACING,) * 3)).astype(float)


def test_it_serves_int16(tmp_path):
    assert served(write_chest(tmp_path / "a.nii.gz", GRID, (SPACING,) * 3, dtype="float64")).dtype == np.int16


def test_it_copies_a_volume_already_on_the_grid_exactly(tmp_path, reference):
    hu = chest_volume(GRID, grid_affine(GRID, SPACING))
    assert np.array_equal(reference, np.clip(np.rint(hu), -1024, 3071))


@pytest.mark.parametrize("axcodes", ["LPS", "PIR", "SAL", "RAS"])
def test_it_puts_the_patients_left_heart_on_the_left_whatever_the_input_orientation(tmp_path, axcodes):
    hu = served(write_chest(tmp_path / "v.nii.gz", (40, 40, 40), (8.0, 8.0, 8.0), axcodes))
    assert hu[HEART] > 0 and hu[MIRROR] < -300


@pytest.mark.parametrize(
    "shape, spacing, axcodes, dtype",
    [
        ((64, 64, 40), (5.0, 5.0, 8.0), "LPS", "int16"),
        ((40, 40, 40), (8.0, 8.0, 8.0), "PIR", "uint8"),
        ((30, 36, 32), (11.0, 9.0, 10.0), "RAS", "float64"),
    ],
)
def test_it_resamples_other_grids_and_orientations_to_the_same_anatomy(
    tmp_path, reference, shape, spacing, axcodes, dtype
):
    hu = served(write_chest(tmp_path / "v.nii.gz", shape, spacing, axcodes, dtype)).astype(float)
    difference = np.abs(hu - reference)
    assert np.median(difference) < 2 and difference.mean() < 25


def test_it_resamples_an_oblique_volume_by_its_affine(tmp_path, reference):
    angle = np.deg2rad(20)
    affine = np.diag([6.0, 6.0, 6.0, 1.0])
    affine[:2, :2] = 6.0 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    nib.save(
        nib.Nifti1Image(np.rint(chest_volume((60, 60, 60), affine)).astype(np.int16), affine), tmp_path / "o.nii.gz"
    )
    difference = np.abs(served(tmp_path / "o.nii.gz").astype(float) - reference)
    assert np.median(difference) < 2 and difference.mean() < 25


def test_it_keeps_physical_size_when_a_fine_grid_is_resampled(tmp_path):
    """A 0.7 mm-style input (here 2.5 mm, 128² in-plane = 320 mm) keeps the body's 300 mm width on the 10 mm grid."""
    hu = served(write_chest(tmp_path / "fine.nii.gz", (128, 128, 16), (2.5, 2.5, 20.0), "LPS"))
    body_columns = np.flatnonzero((hu[:, :, 16] > -500).any(axis=1))
    assert abs((body_columns[-1] - body_columns[0] + 1) * SPACING - 300) <= SPACING


def test_it_pads_a_smaller_field_of_view_with_air_around_its_centre(tmp_path):
    hu = served(write_chest(tmp_path / "small.nii.gz", (16, 16, 16), (10.0, 10.0, 10.0)))
    assert np.all(hu[:8] == -1024) and np.all(hu[24:] == -1024) and np.all(hu[:, :8] == -1024)
    assert hu[15, 15, 15] > -1024


def test_it_crops_a_larger_field_of_view_around_its_centre(tmp_path, reference):
    hu = served(write_chest(tmp_path / "big.nii.gz", (48, 48, 48), (10.0, 10.0, 10.0), origin=(500.0, 0.0, -80.0)))
    assert np.array_equal(hu, reference)


def test_it_maps_unit_intensities_to_the_papers_hu_window(tmp_path):
    values = np.zeros((4, 4, 4), dtype=np.float32)
    values[0], values[1], values[2] = -1.0, 1.0, 0.0
    nib.save(nib.Nifti1Image(values, np.diag([SPACING, SPACING, SPACING, 1.0])), tmp_path / "u.nii.gz")
    hu = served(tmp_path / "u.nii.gz", "unit", grid=(4, 4, 4))
    assert (hu[0] == -1024).all() and (hu[1] == 600).all() and (hu[2] == -212).all()


def test_it_clips_to_the_12_bit_ct_range(tmp_path):
    values = np.zeros((4, 4, 4), dtype=np.int16)
    values[0], values[1] = -3000, 5000
    nib.save(nib.Nifti1Image(values, np.diag([SPACING, SPACING, SPACING, 1.0])), tmp_path / "c.nii.gz")
    hu = served(tmp_path / "c.nii.gz", grid=(4, 4, 4))
    assert (hu[0] == -1024).all() and (hu[1] == 3071).all() and (hu[2] == 0).all()


def test_it_applies_the_header_scaling_of_integer_inputs(tmp_path):
    image = nib.Nifti1Image(np.full((4, 4, 4), 100, dtype=np.uint8), np.diag([SPACING, SPACING, SPACING, 1.0]))
    image.header.set_slope_inter(4.0, -1024.0)
    nib.save(image, tmp_path / "s.nii.gz")
    assert (served(tmp_path / "s.nii.gz", grid=(4, 4, 4)) == -624).all()


def test_it_rejects_nan_voxels_naming_the_file(tmp_path):
    values = np.zeros((4, 4, 4), dtype=np.float32)
    values[1, 2, 3] = np.nan
    values[0, 0, 0] = np.inf
    nib.save(nib.Nifti1Image(values, np.eye(4)), tmp_path / "nan.nii.gz")
    with pytest.raises(StudyError, match=r"test volume: .*nan\.nii\.gz has 2 NaN or infinite voxels"):
        served(tmp_path / "nan.nii.gz")


def test_it_rejects_a_4d_volume(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2), dtype=np.int16), np.eye(4)), tmp_path / "4d.nii.gz")
    with pytest.raises(StudyError, match=r"4d\.nii\.gz has shape \(4, 4, 4, 2\); expected a 3D volume"):
        served(tmp_path / "4d.nii.gz")


def test_it_rejects_a_file_that_is_not_nifti(tmp_path):
    (tmp_path / "notes.nii.gz").write_bytes(b"this is not an image")
    with pytest.raises(StudyError, match=r"notes\.nii\.gz is not a readable NIfTI file"):
        served(tmp_path / "notes.nii.gz")


def test_it_rejects_a_truncated_file(tmp_path, reference):
    path = write_chest(tmp_path / "cut.nii.gz", GRID, (SPACING,) * 3)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(StudyError, match=r"cut\.nii\.gz"):
        served(path)


def save(tmp_path: Path, values: np.ndarray, name: str = "v.nii.gz") -> Path:
    nib.save(nib.Nifti1Image(values, np.diag([SPACING, SPACING, SPACING, 1.0])), tmp_path / name)
    return tmp_path / name


def test_it_rejects_unit_intensity_on_data_in_hounsfield_units(tmp_path):
    path = write_chest(tmp_path / "hu.nii.gz", GRID, (SPACING,) * 3)
    with pytest.raises(StudyError, match=r'test volume: .*intensity = "unit" means values in \[-1, 1\], but they span'):
        served(path, "unit")


def test_it_rejects_hu_intensity_on_data_in_the_unit_range(tmp_path):
    path = write_chest(tmp_path / "unit.nii.gz", GRID, (SPACING,) * 3, "RAS", "float32", "unit")
    with pytest.raises(StudyError, match=r'the \[-1, 1\] range of model outputs.* set intensity = "unit"'):
        served(path, "hu")


def test_it_rejects_8_bit_integers_without_a_scaling_before_reading_them(tmp_path):
    path = save(tmp_path, np.full((4, 4, 4), 200, dtype=np.uint8))
    with pytest.raises(StudyError, match=r"stores 8-bit integers \(uint8, 0 to 255\) with no scaling"):
        served(path, grid=(4, 4, 4))


def test_it_rejects_complex_data_instead_of_dropping_the_imaginary_part(tmp_path):
    path = save(tmp_path, np.full((4, 4, 4), 40 + 3j, dtype=np.complex64))
    with pytest.raises(StudyError, match=r"stores complex numbers \(complex64\); a CT volume has one real value"):
        served(path, grid=(4, 4, 4))


def test_it_rejects_a_box_shorter_than_half_the_body(tmp_path):
    path = write_chest(tmp_path / "v.nii.gz", GRID, (SPACING,) * 3)
    with pytest.raises(StudyError, match=r"less than half the body .* R-L \(100 mm of a 3\d\d mm body\)"):
        served(path, grid=(10, 32, 32))


def test_the_dither_spreads_a_coarse_lattice_evenly_over_whole_hu(tmp_path):
    """A value stored on a 4 HU step, dithered by +-2 HU, covers its step: 1/4 to each whole HU inside, 1/8 to each
    edge (which the neighbouring stored values share), so a 4 HU lattice becomes every whole HU equally often.
    """
    hu = np.full((64, 64, 64), 100.0, dtype=np.float32)
    counts = np.bincount(to_served(hu, dither=Dither((1, 2), 2.0)).ravel() - 97, minlength=8)
    assert counts.sum() == 64**3 and counts[0] == counts[6] == counts[7] == 0
    assert np.allclose(counts[1:6] / 64**3, [1 / 8, 1 / 4, 1 / 4, 1 / 4, 1 / 8], atol=0.005)


def test_the_dither_adds_nothing_at_the_clip_bounds(tmp_path):
    hu = np.array([-1024.0, -1030.0, 600.0, 700.0, 0.0], dtype=np.float32).reshape(5, 1, 1)
    served_values = to_served(hu, clip=(-1024, 600), dither=Dither((3,), 40.0)).ravel()
    assert list(served_values[:4]) == [-1024, -1024, 600, 600]


def test_the_same_dither_seed_gives_the_same_noise_and_another_seed_other_noise():
    assert np.array_equal(Dither((1, 2), 1.0).noise((8, 8, 8)), Dither((1, 2), 1.0).noise((8, 8, 8)))
    assert not np.array_equal(Dither((1, 2), 1.0).noise((8, 8, 8)), Dither((1, 3), 1.0).noise((8, 8, 8)))
