"""Building a bundle: the study.json contract, blinded files, parallel builds, and nothing half-written on failure."""

from __future__ import annotations

import gzip
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from bench.synthetic import chest_volume, oriented_affine, write_chest
from contracts.digests import file_sha256
from contracts.resampling import grid_affine
from studies.build import build_bundle, dither_seed
from studies.bundle import load_study
from studies.cli import main
from studies.errors import StudyError

SMALL_STUDY = '[study]\ntitle = "t"\nseed = 5\n{settings}\n\n'

CONTRACT_KEYS = {
    "analysis",
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
    "rating",
    "discrimination",
    "dither",
    "clip",
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


def test_it_records_the_dither_and_the_clip_range_in_study_json(bundle):
    study = json.loads((bundle / "study.json").read_text())
    assert study["dither"] == {"enabled": True, "amplitude_hu": 0.5, "seed": dither_seed(2024)}
    assert study["clip"] == [-1024, 3071]
    steps = {volume["id"]: volume["dither_hu"] for volume in study["volumes"]}
    assert steps["real-07"] == steps["gen-eff-1"] == steps["md-02"] == 0.5
    assert steps["hagan-02"] > 3, "uint8 with scaling: half its storage step of about 7 HU"


def test_it_records_a_dither_turned_off(manifest):
    manifest.write_text(manifest.read_text().replace("seed = 2024", "seed = 2024\ndither = false"))
    study = load_study(build_bundle(manifest, manifest.parent / "plain", workers=1, progress=False))
    assert study["dither"] == {"enabled": False, "amplitude_hu": 0.0, "seed": None}
    assert {volume["dither_hu"] for volume in study["volumes"]} == {0.0}


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


def test_it_refuses_the_same_file_under_two_ids(manifest):
    manifest.write_text(manifest.read_text().replace("scans/md-02.nii.gz", "scans/real-07.nii.gz"))
    with pytest.raises(StudyError) as caught:
        build_bundle(manifest, manifest.parent / "twins", workers=1, progress=False)
    assert "'real-07' (source 'real'), 'md-02' (source 'medical-diffusion') are the same file" in str(caught.value)
    assert not (manifest.parent / "twins").exists()


def test_a_parallel_build_serves_the_same_voxels_as_a_serial_one(manifest, bundle):
    parallel = build_bundle(manifest, manifest.parent / "parallel", workers=2, progress=False)
    serial_study, parallel_study = load_study(bundle), load_study(parallel)
    for serial_volume, parallel_volume in zip(serial_study["volumes"], parallel_study["volumes"]):
        assert serial_volume["id"] == parallel_volume["id"] and serial_volume["sha256"] == parallel_volume["sha256"]


def test_it_accepts_two_different_files_of_the_same_size(tmp_path):
    for index in range(2):  # uncompressed: the same number of bytes, different voxels
        write_chest(tmp_path / f"v{index}.nii", (24, 24, 24), (12.0,) * 3, noise_hu=10, seed=index)
    assert (tmp_path / "v0.nii").stat().st_size == (tmp_path / "v1.nii").stat().st_size
    manifest = small_study(tmp_path, "", range(2), suffix=".nii")
    assert len(load_study(build_bundle(manifest, tmp_path / "b", workers=1, progress=False))["volumes"]) == 2


def test_it_takes_shape_and_spacing_from_the_inputs_when_they_all_agree(tmp_path):
    """Four 8 mm inputs and no grid in the manifest: served at 8 mm (not a 1 mm default that would crop them)."""
    for index in range(4):
        write_chest(tmp_path / f"v{index}.nii.gz", (40, 40, 40), (8.0, 8.0, 8.0), noise_hu=10, seed=index)
    study = load_study(build_bundle(small_study(tmp_path, "", range(4)), tmp_path / "b", workers=1, progress=False))
    assert study["grid"] == {"shape": [40, 40, 40], "spacing": 8.0}


def test_it_refuses_to_guess_the_shape_when_the_inputs_differ(manifest):
    manifest.write_text(manifest.read_text().replace("shape = [32, 32, 32]\n", ""))
    with pytest.raises(StudyError) as caught:
        build_bundle(manifest, manifest.parent / "b", workers=1, progress=False)
    message = str(caught.value)
    assert "[study]: no 'shape', and the inputs differ in shape" in message
    assert "32 x 32 x 32: 'gen-eff-1'" in message and "64 x 64 x 40: 'real-07'" in message
    assert "set shape = [X, Y, Z]" in message and not (manifest.parent / "b").exists()


def test_it_refuses_to_guess_the_spacing_when_the_inputs_voxel_sizes_differ(manifest):
    manifest.write_text(manifest.read_text().replace("spacing = 10.0", ""))
    with pytest.raises(StudyError) as caught:
        build_bundle(manifest, manifest.parent / "b", workers=1, progress=False)
    message = str(caught.value)
    assert "[study]: no 'spacing', and the inputs' voxel sizes differ" in message
    assert "5 x 5 x 8 mm: 'real-07'" in message and "set spacing = MM" in message


def test_it_refuses_a_box_that_crops_a_field_of_view_saying_how_many_mm_each_volume_loses(manifest):
    manifest.write_text(manifest.read_text().replace("shape = [32, 32, 32]", "shape = [24, 24, 24]"))
    with pytest.raises(StudyError) as caught:
        build_bundle(manifest, manifest.parent / "b", workers=1, progress=False)
    message = str(caught.value)
    assert "shape [24, 24, 24] at spacing 10 mm is a 240 x 240 x 240 mm box" in message
    assert "'real-07' loses 80 x 80 x 80 mm of its 320 x 320 x 320 mm" in message
    assert "'md-02' loses 90 x 84 x 80 mm of its 330 x 324 x 320 mm" in message
    assert "set allow_crop = true if the crop is intended" in message and not (manifest.parent / "b").exists()


def test_it_crops_when_the_manifest_says_the_crop_is_intended(manifest):
    text = manifest.read_text().replace("shape = [32, 32, 32]", "shape = [24, 24, 24]\nallow_crop = true")
    manifest.write_text(text)
    study = load_study(build_bundle(manifest, manifest.parent / "b", workers=1, progress=False))
    assert study["grid"]["shape"] == [24, 24, 24]


def test_it_refuses_a_spacing_that_shrinks_the_box_below_the_body_even_when_cropping_is_allowed(manifest):
    manifest.write_text(manifest.read_text().replace("spacing = 10.0", "spacing = 0.0001\nallow_crop = true"))
    with pytest.raises(StudyError, match=r"the study box holds less than half the body .* along R-L \(0\.0032 mm"):
        build_bundle(manifest, manifest.parent / "b", workers=1, progress=False)
    assert not (manifest.parent / "b").exists()


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


def small_study(folder, settings, indices, sources=("real", "medsyn"), suffix=".nii.gz"):
    """A manifest over folder/v{index}{suffix}, alternating `sources`; `settings` go into [study]."""
    entries = [
        f'[[volume]]\nid = "v{index}"\nfile = "v{index}{suffix}"\nsource = "{sources[index % len(sources)]}"\n'
        for index in indices
    ]
    (folder / "m.toml").write_text(SMALL_STUDY.format(settings=settings) + "\n".join(entries))
    return folder / "m.toml"


def write_slope_two(path, shape=(32, 32, 32), spacing=10.0, seed=0):
    """The chest stored as int16 with scl_slope 2: every value an even number of HU."""
    affine = oriented_affine(shape, (spacing,) * 3, "RAS")
    stored = np.rint(chest_volume(shape, affine, noise_hu=12.0, seed=seed) / 2.0).astype(np.int16)
    image = nib.Nifti1Image(stored, affine)
    image.header.set_slope_inter(2.0, 0.0)
    nib.save(image, path)


def served_by_id(bundle):
    study = load_study(bundle)
    return {v["id"]: np.asarray(nib.load(bundle / v["file"]).dataobj).astype(int) for v in study["volumes"]}


def parity_study(tmp_path, settings):
    write_chest(tmp_path / "v0.nii.gz", (32, 32, 32), (10.0,) * 3, noise_hu=12.0, seed=1)
    write_slope_two(tmp_path / "v1.nii.gz")
    manifest = small_study(tmp_path, f"shape = [32, 32, 32]\nspacing = 10.0\n{settings}", range(2))
    return served_by_id(build_bundle(manifest, tmp_path / "b", workers=1, progress=False))


def test_the_dither_serves_a_slope_two_source_with_odd_and_even_values_in_equal_proportion(tmp_path):
    """Binomial SD of the odd share over 32³ voxels is 0.003: a tolerance of 0.02 is over six SDs."""
    served = parity_study(tmp_path, "")["v1"]
    inside = served[(served > -1024) & (served < 3071)]
    assert inside.size > 30_000 and abs(np.mean(inside % 2) - 0.5) < 0.02


def test_without_dither_a_slope_two_source_is_served_with_only_even_values(tmp_path):
    served = parity_study(tmp_path, "dither = false")["v1"]
    assert np.all(served % 2 == 0)


def test_the_dither_leaves_a_whole_hu_input_on_the_study_grid_unchanged(tmp_path):
    dithered = parity_study(tmp_path, "")["v0"]
    (tmp_path / "b").rename(tmp_path / "first")
    assert np.array_equal(dithered, parity_study(tmp_path, "dither = false")["v0"])


def test_every_source_is_padded_with_the_same_value_outside_its_field_of_view(tmp_path):
    """A float, a unit-range and an 8-bit source, each covering half the box: the margin is exactly the padding."""
    write_chest(tmp_path / "v0.nii.gz", (16, 16, 16), (10.0,) * 3, dtype="float32", noise_hu=12.0, seed=1)
    write_chest(tmp_path / "v1.nii.gz", (16, 16, 16), (10.0,) * 3, dtype="uint8", noise_hu=12.0, seed=2)
    write_chest(tmp_path / "v2.nii.gz", (16, 16, 16), (10.0,) * 3, "RAS", "float32", "unit", noise_hu=12.0, seed=3)
    manifest = small_study(tmp_path, "shape = [32, 32, 32]\nspacing = 10.0", range(3), ("a", "b", "c"))
    manifest.write_text(manifest.read_text().replace('id = "v2"', 'id = "v2"\nintensity = "unit"'))
    for clip, padding in (("", -1024), ("clip = [-1000, 600]", -1000)):
        manifest.write_text(manifest.read_text().replace("seed = 5\n", f"seed = 5\n{clip}\n"))
        for served in served_by_id(build_bundle(manifest, tmp_path / "b", workers=1, progress=False)).values():
            margin = np.ones(served.shape, bool)
            margin[8:24, 8:24, 8:24] = False
            assert np.all(served[margin] == padding)
        (tmp_path / "b").rename(tmp_path / f"done{padding}")


def test_a_clip_range_serves_every_source_on_it(manifest):
    manifest.write_text(manifest.read_text().replace("seed = 2024", "seed = 2024\nclip = [-1024, 600]"))
    bundle = build_bundle(manifest, manifest.parent / "clipped", workers=1, progress=False)
    assert load_study(bundle)["clip"] == [-1024, 600]
    assert {int(served.max()) for served in served_by_id(bundle).values()} == {600}, "the spine (700 HU) clips"


def test_it_refuses_a_header_promising_too_many_voxels_before_reading_any(manifest):
    header = nib.Nifti1Header()
    header.set_data_shape((4096, 4096, 4096))
    header.set_data_dtype(np.int16)
    header["vox_offset"] = 352
    (manifest.parent / "scans" / "md-02.nii.gz").write_bytes(gzip.compress(header.binaryblock + b"\0" * 4))
    with pytest.raises(StudyError) as caught:
        build_bundle(manifest, manifest.parent / "b", workers=1, progress=False)
    message = str(caught.value)
    assert "[[volume]] 'md-02'" in message and "its header promises 68,719,476,736 voxels" in message
    assert "nothing was read" in message and not (manifest.parent / "b").exists()


def test_it_refuses_unit_intensity_on_hu_data_naming_the_volume_and_the_key(manifest):
    manifest.write_text(manifest.read_text().replace('id = "md-02"', 'id = "md-02"\nintensity = "unit"'))
    with pytest.raises(StudyError, match=r"\[\[volume\]\] 'md-02': .*intensity = \"unit\" means values in \[-1, 1\]"):
        build_bundle(manifest, manifest.parent / "b", workers=2, progress=False)
    assert not (manifest.parent / "b").exists()


def test_an_out_that_cannot_be_created_is_a_clean_error_that_changes_nothing(manifest, capsys):
    (manifest.parent / "a-file").write_text("not a folder")
    before = sorted(manifest.parent.rglob("*"))
    out = manifest.parent / "a-file" / "sub" / "bundle"
    assert main(["build", str(manifest), "--out", str(out), "--quiet", "--workers", "1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {out}: cannot create the bundle there") and "Traceback" not in error
    assert sorted(manifest.parent.rglob("*")) == before


def test_a_failed_build_removes_the_parent_folders_it_created(manifest):
    manifest.write_text(manifest.read_text().replace('id = "md-02"', 'id = "md-02"\nintensity = "unit"'))
    with pytest.raises(StudyError):
        build_bundle(manifest, manifest.parent / "new" / "deeper" / "bundle", workers=1, progress=False)
    assert not (manifest.parent / "new").exists()


def _children(pid):
    return {
        int(child) for task in Path(f"/proc/{pid}/task").glob("*") for child in (task / "children").read_text().split()
    }


def _running(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker processes from /proc (Linux)")
def test_a_build_stopped_by_sigterm_removes_its_staging_folder_and_its_workers(tmp_path):
    angle = np.deg2rad(20)  # oblique inputs take the slow resampling path: seconds per volume
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:2, :2] = 2.0 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    for index in range(6):
        nib.save(nib.Nifti1Image(np.full((160,) * 3, index, np.int16) - 1000, affine), tmp_path / f"v{index}.nii.gz")
    manifest = small_study(tmp_path, "shape = [160, 160, 160]\nspacing = 2.0\nallow_crop = true", range(6))
    build = subprocess.Popen(
        [sys.executable, "-m", "studies", "build", str(manifest), "--out", str(tmp_path / "b"), "--workers", "2"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (list(tmp_path.glob(".b.building-*")) and len(_children(build.pid)) >= 2):
        assert build.poll() is None and time.monotonic() < deadline, "the build ended before it could be stopped"
        time.sleep(0.05)
    workers = _children(build.pid)
    build.send_signal(signal.SIGTERM)
    assert build.wait(timeout=30) == 2
    assert "the build was stopped (SIGTERM); nothing was written" in build.stderr.read()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".") or path.name == "b"] == []
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in workers)


def test_load_study_accepts_a_bundle_built_before_dither_and_clip_were_recorded(bundle):
    study = json.loads((bundle / "study.json").read_text())
    del study["dither"], study["clip"]
    (bundle / "study.json").write_text(json.dumps(study))
    assert "dither" not in load_study(bundle)


@pytest.mark.parametrize("key, value", [("dither", {"enabled": "yes"}), ("clip", [600, -1024]), ("clip", "lung")])
def test_load_study_rejects_a_malformed_dither_or_clip_record(bundle, key, value):
    study = json.loads((bundle / "study.json").read_text())
    study[key] = value
    (bundle / "study.json").write_text(json.dumps(study))
    with pytest.raises(StudyError, match=rf"study\.json: {key}: must be"):
        load_study(bundle)


def test_a_disk_that_fills_up_is_a_clean_error_that_leaves_nothing(manifest, monkeypatch):
    def full(folder, study):
        raise OSError(28, "No space left on device", str(folder / "study.json"))

    monkeypatch.setattr("studies.build.write_study", full)
    before = sorted(manifest.parent.iterdir())
    with pytest.raises(StudyError, match=r"bundle: cannot write the bundle \(No space left on device: .*study\.json\)"):
        build_bundle(manifest, manifest.parent / "bundle", workers=1, progress=False)
    assert sorted(manifest.parent.iterdir()) == before
