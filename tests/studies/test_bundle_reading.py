"""Reading a bundle back (what the platform's import uses): format, files present, digests matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studies.bundle import load_study
from studies.errors import StudyError


def rewrite(bundle: Path, change) -> None:
    study = json.loads((bundle / "study.json").read_text())
    change(study)
    (bundle / "study.json").write_text(json.dumps(study))


def test_it_reads_a_built_bundle(bundle):
    study = load_study(bundle)
    assert study["format"] == "medsyn-study/1" and len(study["volumes"]) == 4


def test_it_rejects_a_folder_without_study_json(tmp_path):
    with pytest.raises(StudyError, match="not a study bundle"):
        load_study(tmp_path)


def test_it_rejects_study_json_that_is_not_json(bundle):
    (bundle / "study.json").write_text("{")
    with pytest.raises(StudyError, match="cannot read it as JSON"):
        load_study(bundle)


def test_it_rejects_another_format(bundle):
    rewrite(bundle, lambda study: study.update(format="medsyn-study/2"))
    with pytest.raises(StudyError, match="format: expected 'medsyn-study/1'"):
        load_study(bundle)


def test_it_rejects_a_volume_name_that_is_not_opaque(bundle):
    rewrite(bundle, lambda study: study["volumes"][0].update(name="real-07", file="volumes/real-07.nii.gz"))
    with pytest.raises(StudyError, match=r"volumes\[1\]: name 'real-07' is not 24 lower-case hex"):
        load_study(bundle)


def test_it_rejects_a_ranking_set_naming_an_unknown_volume(bundle):
    rewrite(bundle, lambda study: study["ranking"][0]["sets"][0]["volumes"].__setitem__(0, "f" * 24))
    with pytest.raises(
        StudyError, match=r"ranking\[1\] set lobes-and-fissures-1: 'f{24}' is not a volume of this study"
    ):
        load_study(bundle)


def test_it_rejects_a_missing_volume_file(bundle):
    study = load_study(bundle)
    (bundle / study["volumes"][2]["file"]).unlink()
    with pytest.raises(StudyError, match=f"{study['volumes'][2]['file']} is missing"):
        load_study(bundle)


def test_it_rejects_a_volume_file_that_no_longer_matches_its_sha256(bundle):
    study = load_study(bundle)
    path = bundle / study["volumes"][1]["file"]
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(StudyError, match="does not match its sha256"):
        load_study(bundle)


def test_it_can_skip_the_file_checks(bundle):
    study = load_study(bundle)
    (bundle / study["volumes"][0]["file"]).unlink()
    assert load_study(bundle, verify_files=False)["slug"] == study["slug"]


def test_it_rejects_an_unknown_recognition_window(bundle):
    rewrite(bundle, lambda study: study["recognition"].update(window="abdomen"))
    with pytest.raises(StudyError, match=r"recognition.window: must be one of lung, mediastinum, bone, vessels"):
        load_study(bundle)


def test_it_reads_an_older_bundle_without_a_recognition_window(bundle):
    rewrite(bundle, lambda study: study["recognition"].pop("window"))
    assert "window" not in load_study(bundle)["recognition"]
