"""Build a blinded study bundle from a manifest: normalise every volume in parallel, write it under an opaque name.

The bundle is assembled in a temporary sibling folder and renamed into place only when complete, so a
failed or interrupted build never leaves a half-written bundle behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.study_format import FORMAT, MEDIA_DIR, STUDY_FILE, VOLUMES_DIR, slugify
from studies.blinding import opaque_name, served_bytes, sha256
from studies.bundle import write_study
from studies.errors import StudyError
from studies.manifest import Manifest, read_manifest
from studies.normalise import canonical_shape, normalise, open_volume
from studies.workers import map_volumes


@dataclass(frozen=True)
class Job:
    """One volume to normalise: where it comes from, how to read it, and where its served file goes."""

    file: Path
    intensity: str
    shape: tuple[int, int, int]
    spacing: float
    label: str
    target: Path


def run_job(job: Job) -> tuple[Path, str]:
    """Normalise one volume, write its served file and return (target, sha256 of the file)."""
    content = served_bytes(normalise(job.file, job.intensity, job.shape, job.spacing, job.label), job.spacing)
    job.target.write_bytes(content)
    return job.target, sha256(content)


def study_shape(manifest: Manifest) -> tuple[int, int, int]:
    """The served grid shape: the manifest's, else the most common canonical shape of the inputs (first on ties).

    Opens every input's header either way, so an unreadable volume fails before any voxel work starts.
    """
    shapes = Counter(canonical_shape(open_volume(v.file, volume_label(manifest, v.id))) for v in manifest.volumes)
    return manifest.shape or shapes.most_common(1)[0][0]


def volume_label(manifest: Manifest, volume_id: str) -> str:
    """How errors about one volume name it: the manifest and the volume's id."""
    return f"{manifest.path}: [[volume]] {volume_id!r}"


def study_document(
    manifest: Manifest, shape: tuple[int, int, int], names: dict[str, str], digests: dict[str, str], video: str | None
) -> dict[str, Any]:
    """The study.json content (format medsyn-study/1): settings, the key and the task definitions in opaque names."""
    structures: dict[str, dict[str, Any]] = {}
    for ranking_set in manifest.ranking:
        entry = structures.setdefault(
            ranking_set.structure, {"structure": ranking_set.structure, "window": ranking_set.window, "sets": []}
        )
        number = len(entry["sets"]) + 1
        entry["sets"].append(
            {
                "set": f"{slugify(ranking_set.structure)}-{number}",
                "volumes": [names[volume_id] for volume_id in ranking_set.volumes],
            }
        )
    recognition = None
    if manifest.recognition is not None:
        recognition = {
            "options": list(manifest.recognition.options),
            "window": manifest.recognition.window,
            "volumes": [names[volume_id] for volume_id in manifest.recognition.volumes],
        }
    return {
        "format": FORMAT,
        "title": manifest.title,
        "slug": manifest.slug,
        "seed": manifest.seed,
        "grid": {"shape": list(shape), "spacing": manifest.spacing},
        "instructions": manifest.instructions,
        "video": video,
        "closing_message": manifest.closing_message,
        "volumes": [
            {
                "name": names[v.id],
                "file": f"{VOLUMES_DIR}/{names[v.id]}.nii.gz",
                "id": v.id,
                "source": v.source,
                "finding": v.finding,
                "original_file": v.original_file,
                "sha256": digests[v.id],
            }
            for v in manifest.volumes
        ],
        "recognition": recognition,
        "ranking": list(structures.values()),
    }


def build_bundle(
    manifest_path: Path, out: Path, *, workers: int | None = None, progress: bool = True, overwrite: bool = False
) -> Path:
    """Build the blinded bundle of `manifest_path` at `out` and return `out`; StudyError on any problem, nothing left
    half-written.
    """
    manifest = read_manifest(Path(manifest_path))
    out = Path(out).absolute()
    if out.exists() and not overwrite:
        raise StudyError(f"{out}: already exists; choose another --out or pass --force to replace it")
    if out.exists() and not (out / STUDY_FILE).is_file():
        raise StudyError(f"{out}: exists and is not a study bundle; refusing to replace it")
    shape = study_shape(manifest)
    names = _unique_names([v.id for v in manifest.volumes])
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        (staging / VOLUMES_DIR).mkdir()
        jobs = [
            Job(
                v.file,
                v.intensity,
                shape,
                manifest.spacing,
                volume_label(manifest, v.id),
                staging / VOLUMES_DIR / f"{names[v.id]}.nii.gz",
            )
            for v in manifest.volumes
        ]
        secrets.SystemRandom().shuffle(jobs)  # write order (and so inode order) says nothing about manifest order
        by_target = dict(map_volumes(run_job, jobs, workers=workers, desc="normalising volumes", progress=progress))
        digests = {v.id: by_target[staging / VOLUMES_DIR / f"{names[v.id]}.nii.gz"] for v in manifest.volumes}
        video = _copy_video(manifest, staging)
        _same_timestamps(staging)
        write_study(staging, study_document(manifest, shape, names, digests, video))
        _move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _unique_names(ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    while len(set(names.values())) != len(ids):
        names = {volume_id: opaque_name() for volume_id in ids}
    return names


def _copy_video(manifest: Manifest, staging: Path) -> str | None:
    if manifest.video is None:
        return None
    (staging / MEDIA_DIR).mkdir()
    relative = f"{MEDIA_DIR}/{opaque_name()}{manifest.video.suffix.lower()}"
    shutil.copyfile(manifest.video, staging / relative)
    return relative


def _same_timestamps(staging: Path) -> None:
    """Give every served file one modification time and mode, so Last-Modified headers cannot reveal write order."""
    stamp = int(time.time())
    staging.chmod(0o755)
    for path in staging.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
        os.utime(path, (stamp, stamp))


def _move_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    retired = out.with_name(f".{out.name}.replaced-{secrets.token_hex(4)}")
    out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)
