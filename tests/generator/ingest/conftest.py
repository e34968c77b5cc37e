"""Shared fixtures for the ingest tests: DICOM series written here with pydicom, and a small phantom."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from generator.data.phantoms import make_phantom


def write_series(
    folder,
    planes: np.ndarray,
    positions: np.ndarray,
    *,
    orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    pixel_spacing=(1.0, 1.0),
    intercept: float = -1024.0,
    modality: str = "CT",
    accession: str = "ACC1",
    seed: int = 0,
    uid: str | None = None,
    compression: str | None = None,
) -> str:
    """Write one series: planes[k] (rows, columns) of HU at positions[k], stored as HU − intercept in int16 (then
    compressed to the `compression` transfer syntax, if given), under shuffled file names with InstanceNumbers that
    follow neither the slice order nor the names; return its UID."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    uid = uid or generate_uid()
    study = generate_uid()
    instance_numbers = rng.permutation(len(planes)) + 1
    for k in rng.permutation(len(planes)):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SeriesNumber = study, uid, 3
        ds.Modality, ds.PatientName, ds.PatientID, ds.AccessionNumber = modality, "Doe^Jane", "P-123", accession
        ds.StudyDate, ds.ImageType = "20240101", ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.InstanceNumber = int(instance_numbers[k])
        ds.ImagePositionPatient = [float(v) for v in positions[k]]
        ds.ImageOrientationPatient = list(orientation)
        ds.PixelSpacing = list(pixel_spacing)
        ds.Rows, ds.Columns = planes[k].shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, intercept
        ds.PixelData = (planes[k] - intercept).astype("<i2").tobytes()
        if compression:
            ds.compress(compression)
        ds.save_as(folder / f"IM{rng.integers(1_000_000):06d}-{k}.dcm", enforce_file_format=True)
    return uid


def hu_at_lps(points: np.ndarray) -> np.ndarray:
    """The test's HU field at LPS points (mm, integers): distinct per voxel, so any misplacement shows."""
    left, posterior, superior = np.rint(points).astype(int).T
    return (left + 20 * posterior + 200 * superior).astype(np.int16)


def lps_series(folder, *, skip: int | None = None, orientation=(1, 0, 0, 0, 1, 0), **kwargs) -> str:
    """A series of 9 x 7 pixels (1 mm) by 6 slices (2 mm apart along the slice normal) in the given orientation
    (integer cosines; default axial, as most scanners write it) whose HU are hu_at_lps of the pixel centres;
    `skip` leaves one slice out."""
    rows, cols, n = 7, 9, 6
    row_cosine, col_cosine = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal = np.cross(row_cosine, col_cosine)
    origin = np.array([-4.0, -3.0, -4.0])
    planes, positions = [], []
    for k in range(n):
        if k == skip:
            continue
        position = origin + 2.0 * k * normal
        r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        points = position + c[..., None] * row_cosine + r[..., None] * col_cosine
        planes.append(hu_at_lps(points.reshape(-1, 3)).reshape(rows, cols))
        positions.append(position)
    return write_series(folder, np.array(planes), np.array(positions), orientation=orientation, **kwargs)


@pytest.fixture(scope="session")
def phantom():
    """A 32³ phantom with all masks."""
    return make_phantom(32, 7, 0)
