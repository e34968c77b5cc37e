"""import_study: a bundle from `python -m studies build` becomes a study; twice changes nothing; broken ones write
nothing.
"""

import gzip
import hashlib
import json
import shutil

import nibabel as nib
import pytest
import zstandard
from django.core.management import CommandError, call_command

from studies.blinding import GZIP_LEVEL
from studies.delivery import write_served
from surveys.bundles import BundleError, import_bundle
from surveys.models import RankingSet, RecognitionItem, Study, Volume


def _copy(bundle, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


def _edit(bundle, change):
    spec = json.loads((bundle / "study.json").read_text())
    change(spec)
    (bundle / "study.json").write_text(json.dumps(spec))


def _nothing_imported(data_dir):
    assert not Study.objects.exists() and not Volume.objects.exists()
    studies = data_dir / "studies"
    assert not studies.exists() or not any(studies.iterdir()), "no files are left behind"


@pytest.mark.django_db
def test_it_imports_the_volumes_and_task_definitions_of_a_bundle(bundle):
    study, created = import_bundle(bundle)
    assert created and study.slug == "test-study" and study.status == Study.DRAFT
    assert Volume.objects.filter(study=study).count() == 8
    assert RecognitionItem.objects.filter(study=study).count() == 2
    assert {s.key: s.window for s in RankingSet.objects.all()} == {
        "lobes-and-fissures-1": "lung",
        "vessels-1": "vessels",
    }
    assert study.volumes.get(key_id="real-1").finding == "Pleural effusion"


@pytest.mark.django_db
def test_it_stores_each_volume_as_the_same_int16_nifti_under_its_opaque_name(bundle):
    study, _ = import_bundle(bundle)
    volume = study.volumes.get(key_id="medsyn-2")
    stored = gzip.decompress(volume.gzip_path.read_bytes())
    assert stored == gzip.decompress((bundle / f"volumes/{volume.name}.nii.gz").read_bytes())
    image = nib.Nifti1Image.from_bytes(stored)
    assert image.get_data_dtype() == "int16" and image.shape == (32, 32, 32)


@pytest.mark.django_db
def test_it_stores_zstd_gzip_and_plain_copies_that_decode_to_the_bundles_nifti(bundle):
    study, _ = import_bundle(bundle)
    for volume in study.volumes.all():
        nifti = gzip.decompress((bundle / f"volumes/{volume.name}.nii.gz").read_bytes())
        reader = zstandard.ZstdDecompressor().stream_reader(volume.zstd_path.open("rb"), read_across_frames=True)
        assert reader.read() == nifti == gzip.decompress(volume.gzip_path.read_bytes())
        assert volume.identity_path.read_bytes() == nifti


@pytest.mark.django_db
def test_every_volume_is_stored_with_one_byte_length_per_content_coding(bundle):
    study, _ = import_bundle(bundle)
    volumes = list(study.volumes.all())
    for path_of in (lambda v: v.zstd_path, lambda v: v.gzip_path, lambda v: v.identity_path):
        assert len({path_of(volume).stat().st_size for volume in volumes}) == 1
    unpadded = {len(zstandard.ZstdCompressor(level=3).compress(v.identity_path.read_bytes())) for v in volumes}
    assert len(unpadded) > 1, "the test bundle's volumes compress to different sizes before padding"


@pytest.mark.django_db
def test_it_imports_the_window_recognition_opens_in(bundle, tmp_path):
    copy = _copy(bundle, tmp_path)
    _edit(copy, lambda spec: spec["recognition"].__setitem__("window", "mediastinum"))
    study, _ = import_bundle(copy)
    assert study.recognition_window == "mediastinum"


@pytest.mark.django_db
def test_it_opens_recognition_in_the_lung_window_when_the_bundle_names_none(bundle, tmp_path):
    copy = _copy(bundle, tmp_path)
    _edit(copy, lambda spec: spec["recognition"].pop("window", None))
    study, _ = import_bundle(copy)
    assert study.recognition_window == "lung"


@pytest.mark.django_db
def test_it_refuses_a_recognition_window_that_is_not_a_preset(bundle, tmp_path, data_dir):
    broken = _copy(bundle, tmp_path)
    _edit(broken, lambda spec: spec["recognition"].__setitem__("window", "soft tissue"))
    with pytest.raises(BundleError, match="recognition.window: must be one of lung, mediastinum, bone, vessels"):
        import_bundle(broken)
    _nothing_imported(data_dir)


@pytest.mark.django_db
def test_importing_the_same_bundle_twice_duplicates_nothing(bundle):
    import_bundle(bundle)
    study, created = import_bundle(bundle)
    assert not created
    assert Study.objects.count() == 1 and Volume.objects.count() == 8 and RankingSet.objects.count() == 2


@pytest.mark.django_db
def test_it_refuses_a_volume_whose_checksum_does_not_match_and_imports_nothing(bundle, tmp_path, data_dir):
    broken = _copy(bundle, tmp_path)
    victim = sorted((broken / "volumes").iterdir())[-1]
    victim.write_bytes(gzip.compress(b"not a nifti"))
    with pytest.raises(BundleError, match="does not match its sha256"):
        import_bundle(broken)
    _nothing_imported(data_dir)


@pytest.mark.django_db
def test_it_refuses_a_ranking_set_that_names_an_unknown_volume(bundle, tmp_path, data_dir):
    broken = _copy(bundle, tmp_path)
    _edit(broken, lambda spec: spec["ranking"][0]["sets"][0]["volumes"].__setitem__(0, "0" * 24))
    with pytest.raises(BundleError, match=r"ranking\[1\] set lobes-and-fissures-1: '0{24}' is not a volume"):
        import_bundle(broken)
    _nothing_imported(data_dir)


@pytest.mark.django_db
def test_it_refuses_a_volume_that_is_not_int16(bundle, tmp_path, data_dir):
    broken = _copy(bundle, tmp_path)
    spec = json.loads((broken / "study.json").read_text())
    entry = spec["volumes"][3]
    image = nib.load(broken / entry["file"])
    floats = nib.Nifti1Image(image.get_fdata().astype("float32"), image.affine)
    nib.save(floats, broken / entry["file"])
    entry["sha256"] = hashlib.sha256((broken / entry["file"]).read_bytes()).hexdigest()
    (broken / "study.json").write_text(json.dumps(spec))
    with pytest.raises(BundleError, match="must be a 3D int16 volume"):
        import_bundle(broken)
    _nothing_imported(data_dir)


@pytest.mark.django_db
def test_it_refuses_a_volume_name_that_is_not_24_hex_characters(bundle, tmp_path, data_dir):
    broken = _copy(bundle, tmp_path)
    spec = json.loads((broken / "study.json").read_text())
    old = spec["volumes"][0]["name"]
    (broken / f"volumes/{old}.nii.gz").rename(broken / "volumes/real0000case7.nii.gz")
    _edit(broken, lambda spec: spec["volumes"][0].update(name="real0000case7", file="volumes/real0000case7.nii.gz"))
    with pytest.raises(BundleError, match="name 'real0000case7' is not 24 lower-case hex characters"):
        import_bundle(broken)
    _nothing_imported(data_dir)


@pytest.mark.django_db
def test_it_refuses_a_bundle_without_its_grid(bundle, tmp_path, data_dir):
    broken = _copy(bundle, tmp_path)
    _edit(broken, lambda spec: spec.pop("grid"))
    with pytest.raises(BundleError, match="grid: must be"):
        import_bundle(broken)
    _nothing_imported(data_dir)


def _relabel(broken, entry, header_change):
    """Rewrite one bundle volume with a changed NIfTI header, updating its sha256 in study.json as a forger would."""
    path = broken / entry["file"]
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw = header_change(raw)
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=GZIP_LEVEL, mtime=0))
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()


def _descrip(raw):
    raw[148:180] = b"source=real case-0007".ljust(80, b"\0")[:32]
    return raw


def _descrip_and_extension(raw):
    raw = _descrip(raw)
    raw[348:352] = b"\x01\0\0\0"
    extension = (32).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"source=real case-0007".ljust(24, b"\0")
    return raw[:352] + extension + raw[352:]


@pytest.mark.django_db
@pytest.mark.parametrize("forge", [_descrip, _descrip_and_extension], ids=["descrip", "descrip-and-extension"])
def test_it_refuses_a_bundle_that_fails_the_blinding_audit_with_the_audits_message(bundle, tmp_path, data_dir, forge):
    broken = _copy(bundle, tmp_path)
    spec = json.loads((broken / "study.json").read_text())
    entry = spec["volumes"][0]
    _relabel(broken, entry, forge)
    shutil.copystat(broken / spec["volumes"][1]["file"], broken / entry["file"])
    (broken / "study.json").write_text(json.dumps(spec))
    with pytest.raises(BundleError, match="blinding audit failed") as refused:
        import_bundle(broken, workers=1)
    assert "NIfTI header separates sources 'medsyn' and 'real'" in str(refused.value)
    assert "field descrip is b'source=real case-0007', expected b'' (real-1)" in str(refused.value)
    _nothing_imported(data_dir)


@pytest.mark.django_db
def test_it_refuses_a_changed_bundle_under_a_slug_already_imported(bundle, tmp_path):
    import_bundle(bundle)
    changed = _copy(bundle, tmp_path)
    _edit(changed, lambda spec: spec.__setitem__("title", "Another title"))
    with pytest.raises(BundleError, match="already imported from a different study.json"):
        import_bundle(changed)
    assert Study.objects.get().title != "Another title"


@pytest.mark.django_db
def test_the_command_prints_a_summary_and_can_open_the_study(bundle, capsys):
    call_command("import_study", str(bundle), "--open")
    out = capsys.readouterr().out
    assert "Imported study 'test-study'" in out and "8 volumes" in out and "2 ranking sets" in out
    assert Study.objects.get().status == Study.OPEN


@pytest.mark.django_db
def test_the_command_reports_a_missing_bundle_as_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="not a study bundle"):
        call_command("import_study", str(tmp_path / "nowhere"))


@pytest.mark.django_db
def test_it_refuses_a_video_format_browsers_do_not_play(bundle, tmp_path, data_dir):
    broken = _copy(bundle, tmp_path)
    (broken / "media").mkdir()
    (broken / "media/intro.mov").write_bytes(b"\0\0\0\x14ftypqt  ")
    _edit(broken, lambda spec: spec.__setitem__("video", "media/intro.mov"))
    with pytest.raises(BundleError, match=r"video: must be an .mp4 or .webm file, not 'media/intro.mov'"):
        import_bundle(broken)
    _nothing_imported(data_dir)


@pytest.mark.django_db
def test_it_audits_the_copies_it_would_serve_and_refuses_one_that_separates_a_source(bundle, data_dir, monkeypatch):
    def leaky(raw, folder):
        paths = write_served(raw, folder)
        first = next(iter(paths.values()))["gzip"]
        content = bytearray(first.read_bytes())
        content[4:8] = (1764547200).to_bytes(4, "little")  # a time stamp in the served gzip header, same length
        first.write_bytes(bytes(content))
        return paths

    monkeypatch.setattr("surveys.bundles.write_served", leaky)
    with pytest.raises(BundleError, match="blinding audit failed") as refused:
        import_bundle(bundle, workers=1)
    assert "served gzip copy: gzip header carries a timestamp" in str(refused.value)
    _nothing_imported(data_dir)
