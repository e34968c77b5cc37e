"""The bytes the platform serves: one length per content coding, and each copy decodes to the bundle's NIfTI."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import zlib

import numpy as np
import pytest
import zstandard

from studies.blinding import NO_EXTENSIONS, served_header
from studies.delivery import (
    CODINGS,
    GZIP_HEADER,
    SKIPPABLE_MAGIC,
    DeliveryError,
    decode,
    deflate_tail,
    served_copies,
    write_served,
)

SHAPE = (24, 24, 24)


def nifti(noise_hu: float, seed: int) -> bytes:
    """A served-style NIfTI whose voxels compress worse the noisier they are (as real CT against smooth fakes)."""
    rng = np.random.default_rng(seed)
    grid = np.indices(SHAPE).sum(axis=0).astype(float) * 10 - 700
    voxels = np.round(grid + rng.normal(0, noise_hu, SHAPE)).astype("<i2") if noise_hu else grid.astype("<i2")
    return served_header(SHAPE, 10.0).binaryblock + NO_EXTENSIONS + voxels.tobytes(order="F")


@pytest.fixture(scope="module")
def raw() -> dict[str, bytes]:
    return {"real": nifti(40, 1), "smoothed": nifti(5, 2), "smooth": nifti(0.5, 3), "flat": nifti(0, 4)}


@pytest.fixture(scope="module")
def copies(raw) -> dict[str, dict[str, bytes]]:
    return served_copies(raw)


def test_unpadded_compressed_sizes_would_sort_the_sources(raw):
    sizes = [len(zstandard.ZstdCompressor(level=3).compress(raw[name])) for name in ("real", "smoothed", "smooth")]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3


@pytest.mark.parametrize("coding", CODINGS)
def test_every_volume_is_served_with_the_same_length_in_each_coding(copies, coding):
    assert len({len(served[coding]) for served in copies.values()}) == 1


def test_the_identity_copy_is_the_nifti_itself(raw, copies):
    assert all(copies[name]["identity"] == raw[name] for name in raw)


def test_gzip_copies_decode_to_the_nifti_with_pythons_gzip_module(raw, copies):
    assert all(gzip.decompress(copies[name]["gzip"]) == raw[name] for name in raw)


def test_zstd_copies_decode_to_the_nifti_with_zstandards_streaming_reader(raw, copies):
    for name in raw:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(copies[name]["zstd"]), read_across_frames=True)
        assert reader.read() == raw[name]


@pytest.mark.skipif(
    shutil.which("zstd") is None or shutil.which("gzip") is None, reason="needs the zstd and gzip tools"
)
@pytest.mark.parametrize(("coding", "tool"), [("zstd", "zstd"), ("gzip", "gzip")])
def test_the_command_line_decoders_accept_the_padding_without_a_warning(raw, copies, coding, tool):
    for name in raw:
        done = subprocess.run([tool, "-dc"], input=copies[name][coding], capture_output=True, check=False)
        assert (done.returncode, done.stderr, done.stdout == raw[name]) == (0, b"", True)


@pytest.mark.parametrize("coding", CODINGS)
def test_decode_gives_back_the_nifti(raw, copies, coding):
    assert all(decode(copies[name][coding], coding) == raw[name] for name in raw)


def test_gzip_copies_carry_no_flags_name_or_time(copies):
    assert all(served["gzip"][:10] == GZIP_HEADER for served in copies.values())


def test_the_least_compressible_volume_ends_as_plain_zlib_would_end_it(raw, copies):
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    plain = deflate.compress(raw["real"]) + deflate.flush(zlib.Z_SYNC_FLUSH) + deflate.flush(zlib.Z_FINISH)
    assert copies["real"]["gzip"][10:-8] == plain


def test_the_zstd_padding_is_one_skippable_frame_of_zeros(raw, copies):
    frame = zstandard.ZstdCompressor(level=3).compress(raw["flat"])
    served = copies["flat"]["zstd"]
    size = int.from_bytes(served[len(frame) + 4 : len(frame) + 8], "little")
    assert served[: len(frame)] == frame
    assert int.from_bytes(served[len(frame) : len(frame) + 4], "little") == SKIPPABLE_MAGIC
    assert (size, served[len(frame) + 8 :]) == (len(served) - len(frame) - 8, bytes(size))


def test_served_copies_are_the_same_bytes_every_time(raw, copies):
    assert served_copies(raw) == copies


def test_write_served_writes_exactly_the_served_copies(tmp_path, raw, copies):
    paths = write_served(raw, tmp_path / "volumes")
    assert {name: {c: path.read_bytes() for c, path in files.items()} for name, files in paths.items()} == copies
    assert sorted(p.name for p in (tmp_path / "volumes").iterdir()) == sorted(
        f"{name}{suffix}" for name in raw for suffix in (".nii", ".nii.gz", ".nii.zst")
    )


@pytest.mark.parametrize("size", range(2, 33))
def test_a_deflate_tail_has_the_requested_length_and_decodes_to_nothing(size):
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    assert len(deflate_tail(size)) == size
    assert (inflater.decompress(deflate_tail(size)), inflater.eof, inflater.unused_data) == (b"", True, b"")


def test_a_deflate_tail_of_one_byte_is_refused():
    with pytest.raises(DeliveryError, match="cannot end in 1 bytes"):
        deflate_tail(1)


def test_volumes_of_different_uncompressed_length_are_refused(raw):
    with pytest.raises(DeliveryError, match="same grid and header"):
        served_copies({"a": raw["real"], "b": raw["real"][:-2]})


def test_decode_refuses_bytes_after_the_gzip_stream(copies):
    with pytest.raises(DeliveryError, match="followed by other bytes"):
        decode(copies["real"]["gzip"] + b"source=real", "gzip")


def test_decode_refuses_a_gzip_stream_cut_short(copies):
    with pytest.raises(DeliveryError, match="cut short"):
        decode(copies["real"]["gzip"][:-4], "gzip")


def test_decode_refuses_stray_bytes_after_the_zstd_frames(copies):
    with pytest.raises(DeliveryError, match="stray bytes"):
        decode(copies["real"]["zstd"] + b"ab", "zstd")


def test_decode_refuses_a_cut_short_skippable_frame(copies):
    with pytest.raises(DeliveryError, match="skippable frame is cut short"):
        decode(copies["flat"]["zstd"][:-1], "zstd")


def test_decode_refuses_an_unknown_coding(copies):
    with pytest.raises(DeliveryError, match="unknown content coding 'br'"):
        decode(copies["real"]["identity"], "br")


def test_decode_refuses_a_skippable_frame_that_carries_data(copies):
    served = copies["flat"]["zstd"]
    with pytest.raises(DeliveryError, match="skippable frame carries data"):
        decode(served[:-11] + b"source=real", "zstd")
