"""Manifest checking: every mistake a researcher can make is named with the file, the key or volume, and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.study_format import DEFAULT_OPTIONS, slugify
from studies.build import study_document
from studies.errors import StudyError
from studies.manifest import read_manifest


def edit(manifest: Path, old: str, new: str) -> Path:
    text = manifest.read_text()
    assert old in text, f"test set-up: {old!r} not in the manifest"
    manifest.write_text(text.replace(old, new, 1))
    return manifest


def problem(manifest: Path) -> str:
    with pytest.raises(StudyError) as caught:
        read_manifest(manifest)
    message = str(caught.value)
    assert message.startswith(str(manifest)), "every error names the manifest first"
    return message


def test_it_reads_a_valid_manifest(manifest):
    study = read_manifest(manifest)
    assert study.slug == "anatomical-feasibility-of-synthetic-chest-ct"
    assert study.seed == 2024 and study.shape == (32, 32, 32) and study.spacing == 10.0
    assert [v.id for v in study.volumes] == ["real-07", "gen-eff-1", "hagan-02", "md-02"]
    assert study.volumes[1].intensity == "unit" and study.volumes[0].intensity == "hu"
    assert study.volumes[0].file == manifest.parent / "scans" / "real-07.nii.gz"
    assert study.recognition.options == DEFAULT_OPTIONS
    assert [(r.structure, r.window) for r in study.ranking] == [
        ("lobes and fissures", "lung"),
        ("airways", "lung"),
        ("lobes and fissures", "lung"),
    ]


def test_it_derives_the_slug_from_the_title():
    assert slugify("Anatomical feasibility of synthetic chest CT!") == "anatomical-feasibility-of-synthetic-chest-ct"


def test_it_defaults_the_window_to_vessels_for_vessel_structures(manifest):
    edit(manifest, 'structure = "airways"', 'structure = "Pulmonary vessels"')
    assert read_manifest(manifest).ranking[1].window == "vessels"


def test_it_takes_the_window_a_ranking_table_names(manifest):
    edit(manifest, 'structure = "airways"', 'structure = "airways"\nwindow = "mediastinum"')
    assert read_manifest(manifest).ranking[1].window == "mediastinum"


def test_it_opens_recognition_in_the_lung_window_by_default(manifest):
    assert read_manifest(manifest).recognition.window == "lung"


def test_it_takes_the_window_the_recognition_table_names(manifest):
    edit(manifest, 'volumes = ["gen-eff-1", "real-07"]', 'volumes = ["gen-eff-1", "real-07"]\nwindow = "mediastinum"')
    assert read_manifest(manifest).recognition.window == "mediastinum"


def test_the_study_document_carries_the_recognition_window(manifest):
    edit(manifest, 'volumes = ["gen-eff-1", "real-07"]', 'volumes = ["gen-eff-1", "real-07"]\nwindow = "bone"')
    study = read_manifest(manifest)
    names = {volume.id: f"name-{volume.id}" for volume in study.volumes}
    digests = {volume_id: "0" * 64 for volume_id in names}
    document = study_document(study, ((32, 32, 32), 10.0), names, digests, None, dict.fromkeys(names))
    assert document["recognition"]["window"] == "bone"


def test_it_reads_instructions_from_a_file(manifest):
    (manifest.parent / "intro.md").write_text("# Welcome\nRank carefully.")
    edit(manifest, 'instructions = "Rank each set."', 'instructions_file = "intro.md"')
    assert read_manifest(manifest).instructions.startswith("# Welcome")


def test_it_rejects_invalid_toml(manifest):
    manifest.write_text("[study\ntitle = 'x'")
    assert "invalid TOML" in problem(manifest)


def test_it_rejects_a_missing_manifest(tmp_path):
    assert "manifest not found" in problem(tmp_path / "nowhere.toml")


def test_it_rejects_a_missing_volume_file(manifest):
    edit(manifest, 'file = "scans/md-02.nii.gz"', 'file = "scans/md-99.nii.gz"')
    message = problem(manifest)
    assert "'md-02'" in message and "scans/md-99.nii.gz" in message and "does not exist" in message


def test_it_rejects_a_duplicate_volume_id(manifest):
    edit(manifest, 'id = "md-02"', 'id = "real-07"')
    message = problem(manifest)
    assert "'real-07'" in message and "duplicate id" in message


def test_it_rejects_an_unknown_id_in_a_ranking(manifest):
    edit(
        manifest,
        'volumes = ["real-07", "gen-eff-1", "hagan-02", "md-02"]',
        'volumes = ["real-07", "gen-eff-9", "hagan-02", "md-02"]',
    )
    message = problem(manifest)
    assert "[[ranking]] #1" in message and "unknown volume id 'gen-eff-9'" in message


def test_it_rejects_an_unknown_id_in_recognition(manifest):
    edit(manifest, 'volumes = ["gen-eff-1", "real-07"]', 'volumes = ["gen-eff-1", "real-08"]')
    message = problem(manifest)
    assert "[recognition]" in message and "'real-08'" in message


def test_it_rejects_a_ranking_with_repeated_volumes(manifest):
    edit(
        manifest,
        'volumes = ["real-07", "gen-eff-1", "hagan-02", "md-02"]',
        'volumes = ["real-07", "gen-eff-1", "real-07", "md-02"]',
    )
    message = problem(manifest)
    assert "[[ranking]] #1" in message and "'real-07' is listed more than once" in message


def test_it_rejects_a_finding_not_among_the_options(manifest):
    edit(manifest, 'finding = "pleural effusion"', 'finding = "pneumothorax"')
    message = problem(manifest)
    assert "'gen-eff-1'" in message and "'pneumothorax' is not among the [recognition] options" in message


def test_it_compares_findings_to_options_ignoring_case(manifest):
    edit(manifest, 'finding = "pleural effusion"', 'finding = "PLEURAL EFFUSION"')
    assert read_manifest(manifest).volumes[1].finding == "PLEURAL EFFUSION"


def test_it_rejects_a_recognition_volume_without_a_finding(manifest):
    edit(manifest, 'finding = "Pleural effusion"\n', "")
    message = problem(manifest)
    assert "'real-07'" in message and "has no 'finding'" in message


def test_it_rejects_an_unknown_intensity_convention(manifest):
    edit(manifest, 'intensity = "unit"', 'intensity = "0-1"')
    message = problem(manifest)
    assert "'gen-eff-1'" in message and "'intensity'" in message


def test_it_rejects_a_misspelt_key(manifest):
    edit(manifest, 'intensity = "unit"', 'intesity = "unit"')
    assert "unknown key 'intesity'" in problem(manifest)


def test_it_rejects_a_manifest_without_a_seed(manifest):
    edit(manifest, "seed = 2024\n", "")
    message = problem(manifest)
    assert "[study]" in message and "'seed'" in message


def test_it_rejects_a_bad_grid_shape(manifest):
    edit(manifest, "shape = [32, 32, 32]", "shape = [32, 32]")
    assert "'shape' must be three positive integers" in problem(manifest)


def test_it_rejects_a_negative_spacing(manifest):
    edit(manifest, "spacing = 10.0", "spacing = -1")
    assert "'spacing'" in problem(manifest)


def test_it_rejects_both_instructions_and_an_instructions_file(manifest):
    edit(manifest, 'instructions = "Rank each set."', 'instructions = "x"\ninstructions_file = "intro.md"')
    assert "either 'instructions' or 'instructions_file'" in problem(manifest)


def test_it_rejects_a_missing_video_file(manifest):
    edit(manifest, 'instructions = "Rank each set."', 'video_file = "howto.mp4"')
    assert "video_file 'howto.mp4' does not exist" in problem(manifest)


def test_it_rejects_a_ranking_set_of_one(manifest):
    edit(manifest, 'volumes = ["md-02", "hagan-02", "gen-eff-1", "real-07"]', 'volumes = ["md-02"]')
    assert "at least two volumes" in problem(manifest)


def test_it_rejects_an_unknown_window(manifest):
    edit(manifest, 'structure = "airways"', 'structure = "airways"\nwindow = "soft"')
    assert "'window' must be one of lung, mediastinum, bone, vessels" in problem(manifest)


def test_it_rejects_an_unknown_recognition_window(manifest):
    edit(manifest, 'volumes = ["gen-eff-1", "real-07"]', 'volumes = ["gen-eff-1", "real-07"]\nwindow = "soft"')
    assert "[recognition]: 'window' must be one of lung, mediastinum, bone, vessels, not 'soft'" in problem(manifest)


def test_it_rejects_a_manifest_without_volumes(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text('[study]\ntitle = "t"\nseed = 1\n')
    assert "no volumes" in problem(path)


def test_it_rejects_a_ranking_set_with_two_volumes_of_one_source(manifest):
    edit(
        manifest,
        'id = "md-02"\nfile = "scans/md-02.nii.gz"\nsource = "medical-diffusion"',
        'id = "md-02"\nfile = "scans/md-02.nii.gz"\nsource = "ha-gan"',
    )
    message = problem(manifest)
    assert "[[ranking]] #1" in message and "'hagan-02' and 'md-02' are both from source 'ha-gan'" in message


def test_it_rejects_sets_of_one_structure_that_rank_different_sources(manifest):
    edit(
        manifest,
        'structure = "airways"\nvolumes = ["real-07", "gen-eff-1", "hagan-02", "md-02"]',
        'structure = "lobes and fissures"\nvolumes = ["real-07", "gen-eff-1", "hagan-02"]',
    )
    message = problem(manifest)
    assert "[[ranking]] #2" in message and "must rank the same sources" in message


def test_it_reads_dither_clip_and_allow_crop_with_their_defaults(manifest):
    study = read_manifest(manifest)
    assert (study.dither, study.clip, study.allow_crop) == (True, (-1024, 3071), False)
    edit(manifest, "seed = 2024", "seed = 2024\ndither = false\nclip = [-1024, 600]\nallow_crop = true")
    study = read_manifest(manifest)
    assert (study.dither, study.clip, study.allow_crop) == (False, (-1024, 600), True)


def test_it_leaves_shape_and_spacing_to_the_inputs_when_the_manifest_omits_them(manifest):
    edit(manifest, "shape = [32, 32, 32]\nspacing = 10.0", "")
    study = read_manifest(manifest)
    assert study.shape is None and study.spacing is None


@pytest.mark.parametrize("value", ["[600, -1024]", "[-2000, 600]", "[-1024, 4000]", "[-1024.5, 600]", "[0]", '"lung"'])
def test_it_rejects_a_clip_range_that_is_not_two_whole_hu_in_order(manifest, value):
    edit(manifest, "seed = 2024", f"seed = 2024\nclip = {value}")
    assert "'clip' must be [LOW, HIGH], whole HU with -1024 <= LOW < HIGH <= 3071" in problem(manifest)


def test_it_rejects_a_dither_that_is_not_true_or_false(manifest):
    edit(manifest, "seed = 2024", 'seed = 2024\ndither = "yes"')
    assert "[study]: 'dither' must be true or false, not 'yes'" in problem(manifest)


def test_it_rejects_an_absurd_shape_before_allocating_anything(manifest):
    edit(manifest, "shape = [32, 32, 32]", "shape = [100000, 100000, 100000]")
    message = problem(manifest)
    assert "'shape' [100000, 100000, 100000] is 1,000,000,000,000,000 voxels" in message
    assert "limit of 134,217,728" in message


def test_it_rejects_a_video_format_the_platform_does_not_serve(manifest):
    (manifest.parent / "howto.mov").write_bytes(b"\x00\x00\x00\x14ftypqt  ")
    edit(manifest, 'instructions = "Rank each set."', 'video_file = "howto.mov"')
    assert "video_file 'howto.mov' is not a format the platform serves (.mp4, .webm)" in problem(manifest)
