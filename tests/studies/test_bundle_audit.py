"""The audit: a clean bundle passes; any planted served difference fails; pixel differences between sources warn."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
from pathlib import Path

import nibabel as nib
import numpy as np

from bench.synthetic import write_chest
from contracts.digests import file_sha256
from studies.audit import audit_bundle
from studies.blinding import GZIP_LEVEL
from studies.build import build_bundle
from studies.cli import main


def volume_file(bundle: Path, volume_id: str) -> Path:
    study = json.loads((bundle / "study.json").read_text())
    return bundle / next(v["file"] for v in study["volumes"] if v["id"] == volume_id)


def replant(bundle: Path, volume_id: str, content: bytes) -> None:
    """Replace one served file, keeping its time and study.json's digest in step so only the planted difference
    remains.
    """
    path = volume_file(bundle, volume_id)
    stat = path.stat()
    path.write_bytes(content)
    os.utime(path, (stat.st_atime, stat.st_mtime))
    study = json.loads((bundle / "study.json").read_text())
    for volume in study["volumes"]:
        if volume["id"] == volume_id:
            volume["sha256"] = file_sha256(path)
    (bundle / "study.json").write_text(json.dumps(study))


def nifti(bundle: Path, volume_id: str) -> bytearray:
    return bytearray(gzip.decompress(volume_file(bundle, volume_id).read_bytes()))


def plain_gzip(raw: bytes) -> bytes:
    """Compressed like the build (same level, no name, time 0), so only the planted difference remains."""
    return gzip.compress(bytes(raw), compresslevel=GZIP_LEVEL, mtime=0)


def failures(bundle: Path) -> list[str]:
    return audit_bundle(bundle, workers=1).failures


def test_a_freshly_built_bundle_is_clean(bundle):
    assert failures(bundle) == []


def test_it_fails_a_volume_whose_header_description_differs(bundle):
    raw = nifti(bundle, "hagan-02")
    raw[148 : 148 + 6] = b"HA-GAN"  # descrip
    replant(bundle, "hagan-02", plain_gzip(raw))
    [failure] = failures(bundle)
    assert "source 'ha-gan'" in failure and "NIfTI header field descrip" in failure and "HA-GAN" in failure


def test_it_fails_a_volume_whose_affine_differs(bundle):
    raw = nifti(bundle, "real-07")
    raw[280:284] = struct.pack("<f", -10.0)  # srow_x[0]: a left-right flip
    replant(bundle, "real-07", plain_gzip(raw))
    assert any("srow_x" in failure and "source 'real'" in failure for failure in failures(bundle))


def test_it_fails_a_volume_stored_with_another_dtype(bundle):
    raw = nifti(bundle, "md-02")
    raw[70:72], raw[72:74] = struct.pack("<h", 16), struct.pack("<h", 32)  # datatype float32, bitpix 32
    replant(bundle, "md-02", plain_gzip(raw))
    found = " ".join(failures(bundle))
    assert "field datatype" in found and "field bitpix" in found


def test_it_fails_a_volume_with_a_header_extension(bundle):
    raw = nifti(bundle, "md-02")
    raw[348] = 1
    replant(bundle, "md-02", plain_gzip(raw))
    assert any("extensions are present" in failure for failure in failures(bundle))


def test_it_fails_a_gzip_header_that_carries_the_original_name_and_a_time(bundle):
    raw = nifti(bundle, "gen-eff-1")
    buffer = io.BytesIO()
    with gzip.GzipFile("medsyn_sample_0001.nii", "wb", GZIP_LEVEL, buffer, mtime=1_700_000_000) as stream:
        stream.write(bytes(raw))
    replant(bundle, "gen-eff-1", buffer.getvalue())
    found = [f for f in failures(bundle) if "source 'medsyn'" in f]
    assert any("FNAME" in f for f in found) and any("timestamp" in f for f in found)


def test_it_fails_trailing_data_after_the_voxels(bundle):
    replant(bundle, "gen-eff-1", plain_gzip(nifti(bundle, "gen-eff-1") + b"generator v2"))
    assert any("trailing data" in failure for failure in failures(bundle))


def test_it_fails_a_file_changed_after_the_build(bundle):
    path = volume_file(bundle, "real-07")
    raw = nifti(bundle, "real-07")
    raw[-2:] = b"\x00\x01"
    path.write_bytes(plain_gzip(raw))
    assert any("sha256 does not match" in failure and "real-07" in failure for failure in failures(bundle))


def test_it_fails_a_missing_volume_file(bundle):
    volume_file(bundle, "md-02").unlink()
    assert any("md-02" in failure and "missing" in failure for failure in failures(bundle))


def test_it_fails_an_unlisted_file_next_to_the_volumes(bundle):
    (bundle / "volumes" / "real-07.nii.gz").write_bytes(b"")
    assert failures(bundle) == ["volumes/real-07.nii.gz: served folder holds a file study.json does not list"]


def test_it_fails_volumes_written_at_different_times(bundle):
    path = volume_file(bundle, "real-07")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 3600))
    [failure] = failures(bundle)
    assert "modification time" in failure and "real:" in failure


def test_it_fails_volumes_with_different_permissions(bundle):
    volume_file(bundle, "hagan-02").chmod(0o600)
    [failure] = failures(bundle)
    assert "file permissions" in failure and "ha-gan: 0o600" in failure


def test_it_fails_a_folder_that_is_not_a_bundle(tmp_path):
    [failure] = failures(tmp_path)
    assert "not a study bundle" in failure


def test_it_warns_when_one_source_is_visibly_noisier(tmp_path):
    """Sources differ only in noise: headers and grid pass, the pixels give them away."""
    scans = tmp_path / "scans"
    scans.mkdir()
    entries = []
    for index in range(6):
        source, noise = ("real", 30.0) if index % 2 else ("medsyn", 2.0)
        write_chest(scans / f"v{index}.nii.gz", (24, 24, 24), (12.0,) * 3, noise_hu=noise, seed=index)
        entries.append(f'[[volume]]\nid = "v{index}"\nfile = "scans/v{index}.nii.gz"\nsource = "{source}"\n')
    (tmp_path / "m.toml").write_text('[study]\ntitle = "noise"\nseed = 1\nspacing = 12.0\n' + "\n".join(entries))
    report = audit_bundle(build_bundle(tmp_path / "m.toml", tmp_path / "b", workers=1, progress=False), workers=1)
    assert report.clean
    assert any(w.startswith("noise level") and "'medsyn'" in w for w in report.warnings)


def test_it_does_not_warn_when_sources_differ_only_in_how_they_were_written(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    entries = []
    for index in range(4):
        real = index % 2 == 0
        write_chest(
            scans / f"v{index}.nii.gz",
            (24, 24, 24),
            (12.0,) * 3,
            "LPS" if real else "RAS",
            "int16" if real else "float32",
            "hu" if real else "unit",
            noise_hu=20.0,
            seed=index,
            header_fields={"descrip": b"scanner" if real else b"model"},
        )
        entries.append(
            f'[[volume]]\nid = "v{index}"\nfile = "scans/v{index}.nii.gz"\n'
            f'source = "{"real" if real else "medsyn"}"\nintensity = "{"hu" if real else "unit"}"\n'
        )
    (tmp_path / "m.toml").write_text('[study]\ntitle = "formats"\nseed = 1\nspacing = 12.0\n' + "\n".join(entries))
    report = audit_bundle(build_bundle(tmp_path / "m.toml", tmp_path / "b", workers=1, progress=False), workers=1)
    assert report.clean and report.warnings == []


def test_the_command_line_exits_0_for_a_clean_bundle(bundle, capsys):
    assert main(["audit", str(bundle), "--quiet", "--workers", "1"]) == 0
    assert "clean: 0 failure(s)" in capsys.readouterr().out


def test_the_command_line_exits_1_and_lists_the_findings(bundle, capsys):
    (bundle / "volumes" / "extra.nii.gz").write_bytes(b"")
    assert main(["audit", str(bundle), "--quiet", "--workers", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  volumes/extra.nii.gz" in out and "NOT blind: 1 failure(s)" in out


def _two_source_study(tmp_path: Path, write) -> Path:
    """A built bundle of six volumes, alternately 'real' and 'medsyn', each written by write(path, source, index)."""
    scans = tmp_path / "scans"
    scans.mkdir()
    entries = []
    for index in range(6):
        source = "real" if index % 2 else "medsyn"
        write(scans / f"v{index}.nii.gz", source, index)
        entries.append(f'[[volume]]\nid = "v{index}"\nfile = "scans/v{index}.nii.gz"\nsource = "{source}"\n')
    (tmp_path / "m.toml").write_text(
        '[study]\ntitle = "pixels"\nseed = 1\nshape = [24, 24, 24]\nspacing = 12.0\n' + "\n".join(entries)
    )
    return build_bundle(tmp_path / "m.toml", tmp_path / "b", workers=1, progress=False)


def test_it_warns_when_one_source_has_a_shifted_intensity_histogram(tmp_path):
    """The generator's volumes are 80 HU brighter throughout: the histogram warning names it."""

    def write(path, source, index):
        write_chest(path, (24, 24, 24), (12.0,) * 3, noise_hu=10.0, seed=index)
        if source == "medsyn":
            image = nib.load(path)
            nib.save(nib.Nifti1Image(np.asarray(image.dataobj, np.int16) + 80, image.affine), path)

    report = audit_bundle(_two_source_study(tmp_path, write), workers=1)
    assert report.clean
    assert any(w.startswith("intensity histogram") and "'medsyn'" in w for w in report.warnings)


def test_it_warns_when_one_source_has_a_smaller_field_of_view(tmp_path):
    """The generator's volumes cover 192 mm instead of 288 mm: the body is cut, and the field-of-view warning says
    so.
    """

    def write(path, source, index):
        write_chest(path, (16, 16, 16) if source == "medsyn" else (24, 24, 24), (12.0,) * 3, noise_hu=10.0, seed=index)

    report = audit_bundle(_two_source_study(tmp_path, write), workers=1)
    assert report.clean
    assert any("field of view" in w and "'medsyn'" in w for w in report.warnings)
