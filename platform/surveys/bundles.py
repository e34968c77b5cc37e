"""Importing a study bundle (study.json + volumes/) made by `python -m studies build`: read it with the one definition
of the format (`studies.bundle.load_study`), stage the exact files to serve (`studies.delivery`, one byte length per
content coding), audit those files, then write all or nothing."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from django.db import transaction

from contracts.study_format import STUDY_FILE, VIDEO_TYPES
from studies.audit import audit_bundle
from studies.bundle import load_study, study_plan
from studies.delivery import write_served
from studies.errors import StudyError
from surveys.models import DiscriminationItem, RankingSet, RatingItem, RecognitionItem, Study, Volume

_SLUG = re.compile(r"^[-a-z0-9_]{1,100}$")


class BundleError(Exception):
    """A bundle the platform refuses: the message names the file, the key and what is wrong."""


def import_bundle(bundle: Path, *, workers: int | None = 1) -> tuple[Study, bool]:
    """Import `bundle` and return (study, created); the same bundle twice changes nothing, a broken one or one whose
    served files fail the audit writes nothing. `workers`: audit processes (None: one per core; 1: in this process).
    """
    bundle = Path(bundle)
    spec_path = bundle / STUDY_FILE
    spec = _read_spec(bundle)
    digest = hashlib.sha256(spec_path.read_bytes()).hexdigest()
    existing = Study.objects.filter(slug=spec["slug"]).first()
    if existing is not None:
        if existing.bundle_digest == digest:
            return existing, False
        raise BundleError(
            f"{spec_path}: a study with slug {spec['slug']!r} was already imported from a different study.json; "
            "give the new bundle its own slug"
        )
    with tempfile.TemporaryDirectory(prefix=".importing-", dir=_data_root()) as staging:
        staging = Path(staging)
        try:
            served = write_served(_BundleNifti(bundle, spec), staging / "volumes")
        except StudyError as error:  # volumes that cannot share one length: the audit says how they differ
            _audit(bundle, None, workers)
            raise BundleError(f"{spec_path}: {error}") from None
        _audit(bundle, served, workers)
        if spec["video"]:
            (staging / "media").mkdir()
            shutil.copyfile(bundle / spec["video"], staging / "media" / Path(spec["video"]).name)
        raw_sizes = {name: files["identity"].stat().st_size for name, files in served.items()}
        with transaction.atomic():
            study = _create_rows(spec, digest, raw_sizes)
            target = study.data_dir
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
            staging.mkdir()  # TemporaryDirectory cleans up the (now empty) placeholder
    return study, True


def _data_root() -> Path:
    """The studies folder under PLATFORM_DATA_DIR, created on demand."""
    from django.conf import settings

    root = settings.PLATFORM_DATA_DIR / "studies"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _read_spec(bundle: Path) -> dict[str, Any]:
    """study.json as `load_study` reads and checks it (files and checksums included), plus what the platform itself
    needs: a slug usable in folder names and URLs, a video type browsers play, distinct answer options."""
    path = bundle / STUDY_FILE
    try:
        spec = load_study(bundle, verify_files=True)
    except StudyError as error:
        raise BundleError(str(error)) from None
    if not _SLUG.match(spec["slug"]):
        raise BundleError(f"{path}: slug: must be lower-case letters, digits and dashes, not {spec['slug']!r}")
    if spec["video"] is not None and Path(spec["video"]).suffix not in VIDEO_TYPES:
        raise BundleError(f"{path}: video: must be an .mp4 or .webm file, not {spec['video']!r}")
    options = (spec.get("recognition") or {}).get("options", [])
    if len(set(options)) != len(options) or not all(option.strip() for option in options):
        raise BundleError(f"{path}: recognition.options: must be distinct non-empty texts")
    return spec


class _BundleNifti(Mapping[str, bytes]):
    """The uncompressed, checked NIfTI of each bundle volume by name, read from disk each time it is looked up."""

    def __init__(self, bundle: Path, spec: dict[str, Any]):
        self._files = {entry["name"]: bundle / entry["file"] for entry in spec["volumes"]}

    def __getitem__(self, name: str) -> bytes:
        path = self._files[name]
        try:
            raw = gzip.decompress(path.read_bytes())
            image = nib.Nifti1Image.from_bytes(raw)
        except Exception as error:  # noqa: BLE001 - any decoding failure means the same thing to the researcher
            raise BundleError(f"{path}: not a gzip-compressed NIfTI-1 file ({error})") from None
        if image.header.get_data_dtype() != np.int16 or len(image.shape) != 3:
            raise BundleError(
                f"{path}: must be a 3D int16 volume, not {len(image.shape)}D {image.header.get_data_dtype()} "
                "(build bundles with `python -m studies build`)"
            )
        return raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def _audit(bundle: Path, served: Mapping[str, Mapping[str, Path]] | None, workers: int | None) -> None:
    """Refuse the bundle, naming every failure, unless the blinding audit (`python -m studies audit`) passes on the
    bundle and on `served`, the exact files the platform will serve."""
    report = audit_bundle(bundle, served=served, workers=workers)
    if not report.clean:
        raise BundleError(
            f"{bundle}: the blinding audit failed, so nothing was imported:\n"
            + "\n".join(f"- {failure}" for failure in report.failures)
        )


def _create_rows(spec: dict[str, Any], digest: str, raw_sizes: dict[str, int]) -> Study:
    """The study, its volumes and task definitions (inside the caller's transaction)."""
    recognition = spec.get("recognition")
    study = Study.objects.create(
        slug=spec["slug"],
        title=spec["title"],
        seed=spec["seed"],
        instructions=spec["instructions"],
        closing_message=spec["closing_message"],
        video=Path(spec["video"]).name if spec["video"] else "",
        options=recognition["options"] if recognition else [],
        design={
            "seed": spec["seed"],
            "recognition": recognition,
            "ranking": spec["ranking"],
            "rating": spec.get("rating"),
            "discrimination": spec.get("discrimination"),
        },
        bundle_digest=digest,
        plan=study_plan(spec, Path(STUDY_FILE)),
    )
    volumes = {}
    for entry in spec["volumes"]:
        volumes[entry["name"]] = Volume.objects.create(
            study=study,
            name=entry["name"],
            key_id=entry["id"],
            source=entry["source"],
            finding=entry.get("finding") or "",
            original_file=entry.get("original_file") or "",
            sha256=entry["sha256"],
            raw_bytes=raw_sizes[entry["name"]],
        )
    for name in (recognition or {}).get("volumes", []):
        RecognitionItem.objects.create(study=study, volume=volumes[name])
    for name in (spec.get("rating") or {}).get("volumes", []):
        RatingItem.objects.create(study=study, volume=volumes[name])
    discrimination = spec.get("discrimination") or {"volumes": [], "real_sources": []}
    for name in discrimination["volumes"]:
        is_real = volumes[name].source in discrimination["real_sources"]
        DiscriminationItem.objects.create(study=study, volume=volumes[name], is_real=is_real)
    for entry in spec["ranking"]:
        for ranking_set in entry["sets"]:
            row = RankingSet.objects.create(
                study=study, structure=entry["structure"], key=ranking_set["set"], window=entry["window"]
            )
            row.volumes.set([volumes[name] for name in ranking_set["volumes"]])
    return study
