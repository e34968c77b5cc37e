"""Blinding: opaque random names and byte-identical NIfTI/gzip headers, so only the voxels differ between sources."""

from __future__ import annotations

import gzip
import hashlib
import secrets

import nibabel as nib
import numpy as np

from contracts.resampling import grid_affine

GZIP_LEVEL = 1  # CT noise is nearly incompressible: level 6 costs 4x the time for files under 2 % smaller
SCANNER = 1  # NIfTI qform/sform code: scanner-anatomical coordinates
NO_EXTENSIONS = b"\x00\x00\x00\x00"  # NIfTI-1 extension flag: none follow the 348-byte header
VOX_OFFSET = 352  # voxels start right after header and extension flag


def opaque_name() -> str:
    """A fresh random name (24 lower-case hex characters) that says nothing about id, source or order."""
    return secrets.token_hex(12)


def served_header(shape: tuple[int, int, int], spacing: float) -> nib.Nifti1Header:
    """The one NIfTI-1 header every served volume gets, built from the study grid alone and nothing of the input."""
    header = nib.Nifti1Header()
    header.set_data_dtype(np.int16)
    header.set_data_shape(shape)
    header.set_zooms((spacing, spacing, spacing))
    affine = grid_affine(shape, spacing)
    header.set_qform(affine, code=SCANNER)
    header.set_sform(affine, code=SCANNER)
    header.set_xyzt_units(xyz="mm", t="sec")
    header.set_slope_inter(1.0, 0.0)
    header.set_intent("none")
    header["vox_offset"] = VOX_OFFSET
    header.set_dim_info(None, None, None)
    for field, value in (
        ("descrip", b""),
        ("aux_file", b""),
        ("intent_name", b""),
        ("db_name", b""),
        ("data_type", b""),
        ("regular", b"r"),
        ("cal_min", 0.0),
        ("cal_max", 0.0),
        ("glmin", 0),
        ("glmax", 0),
        ("session_error", 0),
        ("extents", 0),
        ("slice_start", 0),
        ("slice_end", 0),
        ("slice_code", 0),
        ("slice_duration", 0.0),
        ("toffset", 0.0),
    ):
        header[field] = value
    return header


def served_bytes(data: np.ndarray, spacing: float) -> bytes:
    """The gzip-compressed NIfTI-1 file of int16 `data`: fixed header, no extensions, gzip with no name and time 0.

    The file is assembled by hand (header, empty extension flag, Fortran-ordered voxels) so no writer
    heuristic can alter the header, e.g. nibabel resetting scl_slope to NaN.
    """
    if data.dtype != np.int16 or data.ndim != 3:
        raise ValueError(f"served volumes are 3D int16, not {data.ndim}D {data.dtype}")
    header = served_header(data.shape, spacing)
    nifti = header.binaryblock + NO_EXTENSIONS + np.asarray(data, dtype="<i2").tobytes(order="F")
    return gzip.compress(nifti, compresslevel=GZIP_LEVEL, mtime=0)


def served_voxels(nifti: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """The int16 voxels (RAS+ array order) of a decompressed served file, read straight after its fixed header."""
    return np.frombuffer(nifti, dtype="<i2", offset=VOX_OFFSET).reshape(shape, order="F")


def sha256(content: bytes) -> str:
    """Hex SHA-256 of a served file's bytes: how study.json pins each volume."""
    return hashlib.sha256(content).hexdigest()
