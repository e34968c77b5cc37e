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
from studies.blinding import GZIP_LEVEL, VOX_OFFSET
from studies.build import build_bundle
from studies.cli import main
from studies.delivery import SKIPPABLE_MAGIC, compress, padding, write_served


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


def pairs(found: list[str], channel: str) -> set[tuple[str, str]]:
    """The pairs of sources that failures say `channel` separates."""
    return {
        tuple(f.split(" separates sources ")[1].split(":")[0].replace("'", "").split(" and "))
        for f in found
        if f.startswith(f"{channel} separates sources ")
    }


OTHERS_OF_HAGAN = {("ha-gan", "medical-diffusion"), ("ha-gan", "medsyn"), ("ha-gan", "real")}


def test_a_freshly_built_bundle_is_clean(bundle):
    assert failures(bundle) == []


def test_it_fails_a_volume_whose_header_description_differs(bundle):
    raw = nifti(bundle, "hagan-02")
    raw[148 : 148 + 6] = b"HA-GAN"  # descrip
    replant(bundle, "hagan-02", plain_gzip(raw))
    own, *separations = failures(bundle)
    assert own.endswith("(id 'hagan-02', source 'ha-gan'): NIfTI header field descrip is b'HA-GAN', expected b''")
    assert pairs(separations, "NIfTI header") == OTHERS_OF_HAGAN and len(separations) == 3
    assert all("field descrip is b'HA-GAN', expected b'' (hagan-02)" in failure for failure in separations)


def test_it_fails_a_volume_whose_affine_differs(bundle):
    raw = nifti(bundle, "real-07")
    raw[280:284] = struct.pack("<f", -10.0)  # srow_x[0]: a left-right flip
    replant(bundle, "real-07", plain_gzip(raw))
    own, *separations = failures(bundle)
    assert "(id 'real-07', source 'real'): NIfTI header field srow_x is [-10.0" in own
    assert ("medsyn", "real") in pairs(separations, "NIfTI header")
    assert all("'real': field srow_x is [-10.0" in failure for failure in separations)


def test_it_fails_a_volume_stored_with_another_dtype(bundle):
    raw = nifti(bundle, "md-02")
    raw[70:72], raw[72:74] = struct.pack("<h", 16), struct.pack("<h", 32)  # datatype float32, bitpix 32
    replant(bundle, "md-02", plain_gzip(raw))
    found = " ".join(failures(bundle))
    assert "field datatype is 16" in found and "field bitpix is 32" in found and "(md-02)" in found


def test_it_fails_a_volume_with_a_header_extension(bundle):
    raw = nifti(bundle, "md-02")
    raw[348] = 1
    replant(bundle, "md-02", plain_gzip(raw))
    own, *separations = failures(bundle)
    assert own.endswith(
        "(id 'md-02', source 'medical-diffusion'): NIfTI header extensions are present "
        "(they can carry scanner or software details)"
    )
    assert ("medical-diffusion", "real") in pairs(separations, "NIfTI extension area")
    assert all("'medical-diffusion': 4 bytes between header and voxels" in failure for failure in separations)


def test_it_fails_a_gzip_header_that_carries_the_original_name_and_a_time(bundle):
    raw = nifti(bundle, "gen-eff-1")
    buffer = io.BytesIO()
    with gzip.GzipFile("medsyn_sample_0001.nii", "wb", GZIP_LEVEL, buffer, mtime=1_700_000_000) as stream:
        stream.write(bytes(raw))
    replant(bundle, "gen-eff-1", buffer.getvalue())
    found = failures(bundle)
    own = [f for f in found if "source 'medsyn'" in f]
    assert any("FNAME" in f for f in own) and any("timestamp" in f for f in own)
    assert ("medsyn", "real") in pairs(found, "gzip header of the bundle file")


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
    found = failures(bundle)
    assert pairs(found, "file modification time") == {
        ("ha-gan", "real"),
        ("medical-diffusion", "real"),
        ("medsyn", "real"),
    }
    assert len(found) == 3


def test_it_fails_volumes_with_different_permissions(bundle):
    volume_file(bundle, "hagan-02").chmod(0o600)
    found = failures(bundle)
    assert pairs(found, "file mode (permissions)") == OTHERS_OF_HAGAN
    assert all("'ha-gan': 0o600 (hagan-02)" in failure for failure in found)


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


def test_sources_that_differ_only_in_how_they_were_written_warn_only_of_the_unit_windows_range(tmp_path):
    """A "unit" source cannot exceed 600 HU (the paper's window); real CT can: only that shows."""
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
    assert report.clean and len(report.warnings) == 2
    assert report.warnings[0].startswith("highest value (value range): every volume of source 'medsyn' is below")
    assert "clip = [-1024, 600]" in report.warnings[1]


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


def replant_voxels(bundle: Path, volume_id: str, change) -> None:
    """Replace one volume's voxels by change(voxels) (an int16 array in RAS+ order, changed in place)."""
    raw = nifti(bundle, volume_id)
    shape = tuple(json.loads((bundle / "study.json").read_text())["grid"]["shape"])
    voxels = np.frombuffer(bytes(raw), "<i2", offset=VOX_OFFSET).reshape(shape, order="F").copy()
    change(voxels)
    raw[VOX_OFFSET:] = voxels.astype("<i2").tobytes(order="F")
    replant(bundle, volume_id, plain_gzip(raw))


def even(voxels: np.ndarray) -> None:
    voxels &= ~1


def test_it_fails_a_source_served_on_a_two_hu_lattice(bundle):
    replant_voxels(bundle, "real-07", even)
    found = failures(bundle)
    assert ("medsyn", "real") in pairs(found, "value lattice step")
    assert all("'real': a 2-HU lattice (real-07)" in f for f in found if f.startswith("value lattice step"))
    [parity] = [f for f in found if f.startswith("value parity separates sources 'ha-gan' and 'real'")]
    assert "real-07 0 %" in parity


def test_it_fails_a_parity_bias_on_a_whole_hu_lattice(bundle):
    """Most odd values rounded to even: every HU value still occurs, but odd ones rarely."""

    def bias(voxels):
        odd = (voxels % 2 == 1) & (np.random.default_rng(0).random(voxels.shape) < 0.6)
        voxels[odd] -= 1

    replant_voxels(bundle, "md-02", bias)
    found = failures(bundle)
    assert pairs(found, "value lattice step") == set()
    assert pairs(found, "value parity") == {
        ("ha-gan", "medical-diffusion"),
        ("medical-diffusion", "medsyn"),
        ("medical-diffusion", "real"),
    }


def shell(value: int):
    def change(voxels):
        for axis in range(3):
            for index in (0, -1):
                np.moveaxis(voxels, axis, 0)[index] = value

    return change


def test_it_fails_sources_padded_with_different_values(bundle):
    replant_voxels(bundle, "real-07", shell(-1024))
    replant_voxels(bundle, "md-02", shell(-1000))
    [failure] = failures(bundle)
    assert failure.startswith("padding value (outside the field of view) separates sources 'medical-diffusion' and ")
    assert "'medical-diffusion': -1000 HU (md-02); 'real': -1024 HU (real-07)" in failure


def test_it_fails_a_nearly_constant_volume(bundle):
    replant_voxels(bundle, "hagan-02", lambda voxels: voxels.fill(42))
    assert any("(id 'hagan-02', source 'ha-gan'): nearly constant" in f for f in failures(bundle))


def test_it_fails_a_volume_that_is_mostly_air(bundle):
    def air(voxels):
        voxels[voxels > -1000] = -1010
        voxels[:3] = 40

    replant_voxels(bundle, "hagan-02", air)
    assert any("(id 'hagan-02', source 'ha-gan'): mostly air: 9" in f for f in failures(bundle))


def test_it_fails_a_volume_mostly_at_the_upper_clip_bound(bundle):
    replant_voxels(bundle, "hagan-02", lambda voxels: np.putmask(voxels, voxels > -500, 3071))
    assert any("(id 'hagan-02', source 'ha-gan'): mostly at the clip bound" in f for f in failures(bundle))


def test_it_fails_a_bundle_built_with_dither_off(bundle):
    study = json.loads((bundle / "study.json").read_text())
    study["dither"] = {"enabled": False, "amplitude_hu": 0.0, "seed": None}
    (bundle / "study.json").write_text(json.dumps(study))
    [failure] = failures(bundle)
    assert "dither is off" in failure


def _sets_study(tmp_path: Path) -> Path:
    """Six volumes of two sources, one of each per ranking set (three sets)."""
    scans = tmp_path / "scans"
    scans.mkdir()
    entries = []
    for index in range(6):
        write_chest(scans / f"v{index}.nii.gz", (24, 24, 24), (12.0,) * 3, noise_hu=15.0, seed=index)
        source = "real" if index % 2 else "medsyn"
        entries.append(f'[[volume]]\nid = "v{index}"\nfile = "scans/v{index}.nii.gz"\nsource = "{source}"\n')
    sets = "".join(f'[[ranking]]\nstructure = "airways"\nvolumes = ["v{i}", "v{i + 1}"]\n' for i in (0, 2, 4))
    (tmp_path / "m.toml").write_text(
        '[study]\ntitle = "sets"\nseed = 1\nshape = [24, 24, 24]\nspacing = 12.0\n' + "\n".join(entries) + sets
    )
    return build_bundle(tmp_path / "m.toml", tmp_path / "b", workers=1, progress=False)


def test_a_difference_inside_one_ranking_set_names_that_set_and_volume(tmp_path):
    bundle = _sets_study(tmp_path)
    raw = nifti(bundle, "v3")
    raw[148:150] = b"v2"  # descrip
    replant(bundle, "v3", plain_gzip(raw))
    study = json.loads((bundle / "study.json").read_text())
    name = next(v["name"] for v in study["volumes"] if v["id"] == "v3")
    [set_id] = [s["set"] for entry in study["ranking"] for s in entry["sets"] if name in s["volumes"]]
    own, failure = failures(bundle)
    assert "(id 'v3', source 'real'): NIfTI header field descrip" in own
    assert failure.startswith("NIfTI header separates sources 'medsyn' and 'real': 'medsyn': the header")
    assert "'real': the header the study grid defines (v1, v5), field descrip is b'v2', expected b'' (v3)" in failure
    assert failure.endswith(f"side by side in ranking set(s) {set_id}")


def test_side_channels_that_separate_sources_guess_them_all(tmp_path, capsys):
    bundle = _sets_study(tmp_path)
    for volume_id in ("v1", "v3", "v5"):
        replant_voxels(bundle, volume_id, even)
    report = audit_bundle(bundle, workers=1)
    assert report.guess.accuracy == 1.0 and report.guess.chance == 0.5
    assert main(["audit", str(bundle), "--quiet", "--workers", "1"]) == 1
    assert "GUESS side channels alone guess the source of 6 of 6 volumes (100 %" in capsys.readouterr().out


def test_the_command_line_names_the_pair_the_channel_and_the_volume_and_exits_1(bundle, capsys):
    replant_voxels(bundle, "real-07", even)
    assert main(["audit", str(bundle), "--quiet", "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  value lattice step separates sources 'medsyn' and 'real'" in out and "(real-07)" in out
    assert "GUESS not measured" in out  # one volume per source: nothing to learn a source from once left out


def served(bundle: Path, folder: Path) -> dict[str, dict[str, Path]]:
    """The copies the platform would serve (`studies.delivery.write_served`), by volume name and coding."""
    study = json.loads((bundle / "study.json").read_text())
    raw = {v["name"]: gzip.decompress((bundle / v["file"]).read_bytes()) for v in study["volumes"]}
    return write_served(raw, folder)


def name_of(bundle: Path, volume_id: str) -> str:
    return volume_file(bundle, volume_id).name.removesuffix(".nii.gz")


def test_the_copies_the_platform_serves_are_clean(bundle, tmp_path):
    assert audit_bundle(bundle, served=served(bundle, tmp_path / "served"), workers=1).failures == []


def test_a_served_zstd_copy_longer_than_the_others_fails_naming_the_coding_the_pair_and_the_volume(bundle, tmp_path):
    copies = served(bundle, tmp_path / "served")
    path = copies[name_of(bundle, "md-02")]["zstd"]
    path.write_bytes(path.read_bytes() + struct.pack("<II", SKIPPABLE_MAGIC, 4) + bytes(4))  # still decodes
    found = audit_bundle(bundle, served=copies, workers=1).failures
    assert pairs(found, "served zstd byte length") == {
        ("ha-gan", "medical-diffusion"),
        ("medical-diffusion", "medsyn"),
        ("medical-diffusion", "real"),
    }
    assert len(found) == 3 and all("'medical-diffusion': " in f and "(md-02)" in f for f in found)


def test_a_served_gzip_copy_of_another_length_fails(bundle, tmp_path):
    copies = served(bundle, tmp_path / "served")
    name = name_of(bundle, "real-07")
    streams, trailer = compress(gzip.decompress(volume_file(bundle, "real-07").read_bytes()))
    length = copies[name]["gzip"].stat().st_size + 5
    copies[name]["gzip"].write_bytes(streams["gzip"] + padding("gzip", len(streams["gzip"]), length, trailer))
    found = audit_bundle(bundle, served=copies, workers=1).failures
    assert pairs(found, "served gzip byte length") == {
        ("ha-gan", "real"),
        ("medical-diffusion", "real"),
        ("medsyn", "real"),
    }
    assert len(found) == 3


def test_a_served_copy_that_decodes_to_another_volume_fails(bundle, tmp_path):
    copies = served(bundle, tmp_path / "served")
    real, md = copies[name_of(bundle, "real-07")]["identity"], copies[name_of(bundle, "md-02")]["identity"]
    real.write_bytes(md.read_bytes())
    [failure] = audit_bundle(bundle, served=copies, workers=1).failures
    assert (
        "(id 'real-07', source 'real'): the identity copy served" in failure and "differ from the bundle's" in failure
    )


def test_a_served_gzip_copy_that_names_a_file_fails(bundle, tmp_path):
    copies = served(bundle, tmp_path / "served")
    path = copies[name_of(bundle, "hagan-02")]["gzip"]
    content = bytearray(path.read_bytes())
    content[3] |= 0x08  # FNAME
    path.write_bytes(bytes(content[:10]) + b"hagan.nii\x00" + bytes(content[10:]))
    found = audit_bundle(bundle, served=copies, workers=1).failures
    assert any("(id 'hagan-02', source 'ha-gan'): served gzip copy: gzip header sets FNAME" in f for f in found)
    assert pairs(found, "served gzip stream header") == OTHERS_OF_HAGAN


def test_a_volume_without_a_served_copy_for_every_coding_fails(bundle, tmp_path):
    copies = served(bundle, tmp_path / "served")
    del copies[name_of(bundle, "gen-eff-1")]
    del copies[name_of(bundle, "md-02")]["gzip"]
    found = audit_bundle(bundle, served=copies, workers=1).failures
    assert found[:2] == [
        f"{volume_file(bundle, 'gen-eff-1').relative_to(bundle)} (id 'gen-eff-1'): served copies are missing for "
        "zstd, gzip, identity",
        f"{volume_file(bundle, 'md-02').relative_to(bundle)} (id 'md-02'): served copies are missing for gzip",
    ]
