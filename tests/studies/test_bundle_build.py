"""Building a bundle: the study.json contract, blinded files, parallel builds, and nothing half-written on failure."""

from __future__ import annotations

import gzip
import json
import re

import nibabel as nib
import numpy as np
import pytest

from contracts.digests import file_sha256
from contracts.resampling import grid_affine
from studies.build import build_bundle
from studies.bundle import load_study
from studies.cli import main
from studies.errors import StudyError

CONTRACT_KEYS = {
    "format",
    "title",
    "slug",
    "seed",
    "grid",
    "instructions",
    "video",
    "closing_message",
    "volumes",
    "recognition",
    "ranking",
}
TELLTALES = [b"SIEMENS", b"PACS", b"HA-GAN", b"md.lut", b"real-07", b"gen-eff", b"hagan", b"md-02", b"medsyn", b"scans"]


def names_by_id(study: dict) -> dict[str, str]:
    return {volume["id"]: volume["name"] for volume in study["volumes"]}


def test_it_writes_study_json_with_the_contracts_keys(bundle):
    study = json.loads((bundle / "study.json").read_text())
    assert set(study) == CONTRACT_KEYS
    assert study["format"] == "medsyn-study/1" and study["seed"] == 2024
    assert study["grid"] == {"shape": [32, 32, 32], "spacing": 10.0}
    assert study["video"] is None and study["instructions"] == "Rank each set." and study["closing_message"] == ""


def test_it_keeps_the_key_from_opaque_name_to_id_source_finding_file_and_digest(bundle):
    study = load_study(bundle)
    real = next(volume for volume in study["volumes"] if volume["id"] == "real-07")
    assert real["source"] == "real" and real["finding"] == "Pleural effusion"
    assert real["original_file"] == "scans/real-07.nii.gz"
    assert real["sha256"] == file_sha256(bundle / real["file"])
    assert next(volume for volume in study["volumes"] if volume["id"] == "md-02")["finding"] is None


def test_it_names_volumes_with_random_24_hex_characters(bundle, manifest):
    first = names_by_id(load_study(bundle))
    second = names_by_id(load_study(build_bundle(manifest, manifest.parent / "again", workers=1, progress=False)))
    assert all(re.fullmatch(r"[0-9a-f]{24}", name) for name in first.values())
    assert sorted(path.name for path in (bundle / "volumes").iterdir()) == sorted(f"{n}.nii.gz" for n in first.values())
    assert not set(first.values()) & set(second.values())


def test_it_writes_tasks_in_opaque_names_grouping_ranking_tables_by_structure(bundle):
    study = load_study(bundle)
    names = names_by_id(study)
    assert study["recognition"]["volumes"] == [names["gen-eff-1"], names["real-07"]]
    assert study["recognition"]["options"][-1] == "Other abnormality not listed"
    assert [(entry["structure"], entry["window"], [s["set"] for s in entry["sets"]]) for entry in study["ranking"]] == [
        ("lobes and fissures", "lung", ["lobes-and-fissures-1", "lobes-and-fissures-2"]),
        ("airways", "lung", ["airways-1"]),
    ]
    assert study["ranking"][0]["sets"][1]["volumes"] == [
        names[i] for i in ("md-02", "hagan-02", "gen-eff-1", "real-07")
    ]


def test_it_writes_null_recognition_and_no_ranking_when_the_manifest_has_none(manifest):
    text = manifest.read_text()
    manifest.write_text(text[: text.index("[recognition]")])
    study = load_study(build_bundle(manifest, manifest.parent / "plain", workers=1, progress=False))
    assert study["recognition"] is None and study["ranking"] == []


def test_every_served_file_has_the_same_nifti_header_and_a_blank_gzip_header(bundle):
    files = sorted((bundle / "volumes").iterdir())
    headers = {gzip.decompress(path.read_bytes())[:352] for path in files}
    assert len(files) == 4 and len(headers) == 1
    for path in files:
        assert path.read_bytes()[3:8] == b"\x00\x00\x00\x00\x00", "no gzip flags (file name) and no timestamp"


def test_served_files_carry_nothing_of_the_inputs_names_or_headers(bundle):
    for path in (bundle / "volumes").iterdir():
        content = path.read_bytes()
        header = gzip.decompress(content)[:352]
        assert not [word for word in TELLTALES if word in content[:64] or word in header]


def test_served_files_load_as_int16_on_the_canonical_grid(bundle):
    for path in (bundle / "volumes").iterdir():
        image = nib.load(path)
        assert image.get_data_dtype() == np.int16 and image.shape == (32, 32, 32)
        assert np.allclose(image.affine, grid_affine((32, 32, 32), 10.0))
        assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
        assert image.header.get_xyzt_units() == ("mm", "sec") and image.header["descrip"] == b""


def test_identical_volumes_compress_to_identical_files(manifest):
    text = manifest.read_text().replace(
        'file = "scans/md-02.nii.gz"', 'file = "scans/gen-eff-1.nii.gz"\nintensity = "unit"'
    )
    manifest.write_text(text)
    study = load_study(build_bundle(manifest, manifest.parent / "twins", workers=1, progress=False))
    digests = {volume["id"]: volume["sha256"] for volume in study["volumes"]}
    assert digests["md-02"] == digests["gen-eff-1"]


def test_a_parallel_build_serves_the_same_voxels_as_a_serial_one(manifest, bundle):
    parallel = build_bundle(manifest, manifest.parent / "parallel", workers=2, progress=False)
    serial_study, parallel_study = load_study(bundle), load_study(parallel)
    for serial_volume, parallel_volume in zip(serial_study["volumes"], parallel_study["volumes"]):
        assert serial_volume["id"] == parallel_volume["id"] and serial_volume["sha256"] == parallel_volume["sha256"]


def test_it_defaults_the_grid_to_the_most_common_input_shape(manifest):
    text = (
        manifest.read_text()
        .replace("shape = [32, 32, 32]\n", "")
        .replace("scans/md-02.nii.gz", "scans/gen-eff-1.nii.gz")
    )
    manifest.write_text(text)
    study = load_study(build_bundle(manifest, manifest.parent / "default-shape", workers=1, progress=False))
    assert study["grid"]["shape"] == [32, 32, 32]


def test_it_copies_the_instruction_video_under_an_opaque_name(manifest):
    (manifest.parent / "howto.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42video")
    manifest.write_text(manifest.read_text().replace('instructions = "Rank each set."', 'video_file = "howto.mp4"'))
    bundle = build_bundle(manifest, manifest.parent / "with-video", workers=1, progress=False)
    video = load_study(bundle)["video"]
    assert re.fullmatch(r"media/[0-9a-f]{24}\.mp4", video)
    assert (bundle / video).read_bytes() == b"\x00\x00\x00\x18ftypmp42video"


def test_a_failed_build_leaves_nothing_behind(manifest):
    nib.save(
        nib.Nifti1Image(np.full((8, 8, 8), np.nan, dtype=np.float32), np.eye(4)),
        manifest.parent / "scans" / "md-02.nii.gz",
    )
    before = set(manifest.parent.iterdir())
    with pytest.raises(StudyError, match=r"study\.toml: \[\[volume\]\] 'md-02': .*md-02\.nii\.gz has 512 NaN"):
        build_bundle(manifest, manifest.parent / "broken", workers=2, progress=False)
    assert set(manifest.parent.iterdir()) == before


def test_it_refuses_to_overwrite_an_existing_bundle_unless_forced(bundle, manifest):
    with pytest.raises(StudyError, match="already exists"):
        build_bundle(manifest, bundle, workers=1, progress=False)
    old_names = set(names_by_id(load_study(bundle)).values())
    build_bundle(manifest, bundle, workers=1, progress=False, overwrite=True)
    assert not old_names & set(names_by_id(load_study(bundle)).values())
    assert [path.name for path in manifest.parent.iterdir() if path.name.startswith(".")] == []


def test_it_never_replaces_a_folder_that_is_not_a_bundle(manifest):
    (manifest.parent / "precious").mkdir()
    (manifest.parent / "precious" / "thesis.tex").write_text("years of work")
    with pytest.raises(StudyError, match="not a study bundle"):
        build_bundle(manifest, manifest.parent / "precious", workers=1, progress=False, overwrite=True)
    assert (manifest.parent / "precious" / "thesis.tex").exists()


def test_the_command_line_reports_a_bad_manifest_without_a_traceback(manifest, capsys):
    manifest.write_text(manifest.read_text().replace('id = "md-02"', 'id = "real-07"'))
    assert main(["build", str(manifest), "--out", str(manifest.parent / "cli"), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "duplicate id" in error and "Traceback" not in error
    assert not (manifest.parent / "cli").exists()


def test_the_command_line_builds_a_bundle_and_says_how_long_it_took(manifest, capsys):
    assert main(["build", str(manifest), "--out", str(manifest.parent / "cli"), "--quiet", "--workers", "1"]) == 0
    assert re.search(r"built .*cli in \d+\.\d s", capsys.readouterr().out)
    assert load_study(manifest.parent / "cli")["slug"] == "anatomical-feasibility-of-synthetic-chest-ct"


@pytest.mark.parametrize("command", [[], ["build"], ["audit"], ["preview"]])
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exit:
        main([*command, "--help"])
    assert exit.value.code == 0 and "usage: python -m studies" in capsys.readouterr().out


def test_it_rejects_a_volume_that_is_not_nifti_before_doing_any_work(manifest):
    (manifest.parent / "scans" / "hagan-02.nii.gz").write_text("PNG? no, a text file")
    with pytest.raises(
        StudyError, match=r"study\.toml: \[\[volume\]\] 'hagan-02': .*hagan-02\.nii\.gz is not a readable NIfTI file"
    ):
        build_bundle(manifest, manifest.parent / "broken", workers=1, progress=False)
    assert not (manifest.parent / "broken").exists()
