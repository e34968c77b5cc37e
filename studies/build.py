"""Build a blinded study bundle from a manifest: normalise every volume in parallel, write it under an opaque name.

The bundle is assembled in a temporary sibling folder and renamed into place only when complete, so a
failed or interrupted build (an error, Ctrl-C or SIGTERM) never leaves a half-written bundle, a staging
folder or a worker process behind. Every input's header is checked, and the grid decided, before any voxel
is read: the grid comes from the manifest, or from the inputs where they all agree, and may crop a field of
view by more than one served voxel only where the manifest says `allow_crop = true`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contracts.digests import file_sha256
from contracts.study_format import FORMAT, MEDIA_DIR, STUDY_FILE, VOLUMES_DIR, slugify
from studies.blinding import opaque_name, served_bytes, sha256
from studies.bundle import write_study
from studies.errors import StudyError
from studies.manifest import Manifest, VolumeEntry, read_manifest
from studies.normalise import (
    AXES,
    MAX_SERVED_VOXELS,
    SERVED_STEP_HU,
    Dither,
    canonical_shape,
    dither_amplitude_hu,
    field_of_view_mm,
    normalise,
    open_volume,
    storage_step_hu,
)
from studies.workers import map_volumes

SAME_SPACING = 1e-3  # relative difference below which two voxel sizes count as the same


@dataclass(frozen=True)
class Job:
    """One volume to normalise: where it comes from, how to read it, and where its served file goes."""

    file: Path
    intensity: str
    shape: tuple[int, int, int]
    spacing: float
    label: str
    target: Path
    clip: tuple[int, int]
    dither: Dither | None


def run_job(job: Job) -> tuple[Path, str]:
    """Normalise one volume, write its served file and return (target, sha256 of the file)."""
    served = normalise(job.file, job.intensity, job.shape, job.spacing, job.label, clip=job.clip, dither=job.dither)
    content = served_bytes(served, job.spacing)
    job.target.write_bytes(content)
    return job.target, sha256(content)


@dataclass(frozen=True)
class InputHeader:
    """What an input's header says, in canonical R-L, A-P, S-I order: voxels, voxel sizes (mm), field of view (mm),
    and the HU between neighbouring storable values.
    """

    shape: tuple[int, int, int]
    voxel_mm: tuple[float, float, float]
    field_of_view_mm: tuple[float, float, float]
    step_hu: float


def read_headers(manifest: Manifest) -> dict[str, InputHeader]:
    """Open and check every input's header (by volume id), so a bad volume fails before any voxel work starts."""
    headers = {}
    for volume in manifest.volumes:
        image = open_volume(volume.file, volume_label(manifest, volume.id))
        shape, fov = canonical_shape(image), field_of_view_mm(image)
        headers[volume.id] = InputHeader(
            shape, tuple(f / n for f, n in zip(fov, shape)), fov, storage_step_hu(image, volume.intensity)
        )
    return headers


def study_grid(manifest: Manifest, headers: dict[str, InputHeader]) -> tuple[tuple[int, int, int], float]:
    """The served (shape, spacing): the manifest's, else the inputs' where every input agrees; a StudyError saying
    what to set where they disagree (a default chosen by vote or by convention would silently crop or blur).
    """
    shape, spacing = manifest.shape, manifest.spacing
    if shape is None:
        shapes = _grouped({volume_id: header.shape for volume_id, header in headers.items()})
        if len(shapes) > 1:
            listing = "; ".join(f"{' x '.join(map(str, key))}: {_ids(ids)}" for key, ids in shapes)
            raise StudyError(
                f"{manifest.path}: [study]: no 'shape', and the inputs differ in shape ({listing}); "
                "set shape = [X, Y, Z] (voxels of the served grid) and spacing (mm) to the grid readers should see"
            )
        shape = shapes[0][0]
    if spacing is None:
        sizes = [size for header in headers.values() for size in header.voxel_mm]
        if max(sizes) - min(sizes) > SAME_SPACING * max(sizes):
            by_size = _grouped({i: tuple(round(s, 3) for s in h.voxel_mm) for i, h in headers.items()})
            listing = "; ".join(f"{' x '.join(f'{s:g}' for s in key)} mm: {_ids(ids)}" for key, ids in by_size)
            raise StudyError(
                f"{manifest.path}: [study]: no 'spacing', and the inputs' voxel sizes differ ({listing}); "
                "set spacing = MM (the served voxel size) and shape"
            )
        spacing = round(float(np.mean(sizes)), 6)
    voxels = shape[0] * shape[1] * shape[2]
    if voxels > MAX_SERVED_VOXELS:
        raise StudyError(
            f"{manifest.path}: [study]: the inputs' shape {list(shape)} is {voxels:,} voxels, more than the limit of "
            f"{MAX_SERVED_VOXELS:,} per served volume; set a smaller shape (and a larger spacing)"
        )
    return shape, spacing


def check_crop(
    manifest: Manifest, headers: dict[str, InputHeader], shape: tuple[int, int, int], spacing: float
) -> None:
    """Refuse a box that crops any field of view by more than one served voxel along an axis (the grid's own
    rounding), saying how many millimetres each volume loses, unless the manifest sets allow_crop = true.
    """
    if manifest.allow_crop:
        return
    box = [n * spacing for n in shape]
    losses = {}
    for volume_id, header in headers.items():
        lost = [max(0.0, fov - side) for fov, side in zip(header.field_of_view_mm, box)]
        if max(lost) > spacing * (1 + SAME_SPACING):
            losses[volume_id] = (lost, header.field_of_view_mm)
    if losses:
        details = "; ".join(
            f"{volume_id!r} loses {_mm(lost)} of its {_mm(fov)}" for volume_id, (lost, fov) in list(losses.items())[:8]
        )
        more = f" (and {len(losses) - 8} more)" if len(losses) > 8 else ""
        raise StudyError(
            f"{manifest.path}: [study]: shape {list(shape)} at spacing {spacing:g} mm is a {_mm(box)} box "
            f"({' x '.join(AXES)}), which crops {len(losses)} volume(s) around their centres: {details}{more}. "
            "Enlarge shape or spacing, or set allow_crop = true if the crop is intended"
        )


def check_distinct_files(manifest: Manifest) -> None:
    """Refuse the same file (same SHA-256) under two volume ids: readers would rate one scan twice, or one scan
    would count for two sources. Only files of equal size are hashed (different sizes cannot be the same file).
    """
    files = {volume.id: volume.file for volume in manifest.volumes}
    same_size = [ids for _, ids in _grouped({i: file.stat().st_size for i, file in files.items()}) if len(ids) > 1]
    by_digest = _grouped({volume_id: file_sha256(files[volume_id]) for ids in same_size for volume_id in ids})
    for _, ids in by_digest:
        if len(ids) > 1:
            sources = {volume.id: volume.source for volume in manifest.volumes}
            named = ", ".join(f"{volume_id!r} (source {sources[volume_id]!r})" for volume_id in ids)
            raise StudyError(
                f"{manifest.path}: [[volume]] {named} are the same file (identical SHA-256); "
                "each [[volume]] must be its own scan"
            )


def dither_seed(study_seed: int) -> int:
    """The study's dither seed: derived from its seed, recorded in study.json, 32 bits."""
    return int.from_bytes(hashlib.sha256(f"medsyn-dither/{study_seed}".encode()).digest()[:4], "big")


def volume_dither(manifest: Manifest, volume: VolumeEntry, header: InputHeader) -> Dither | None:
    """The volume's dither: its own stream (from the study's dither seed and its id) and its own amplitude."""
    if not manifest.dither:
        return None
    key = int.from_bytes(hashlib.sha256(volume.id.encode()).digest()[:8], "big")
    return Dither((dither_seed(manifest.seed), key), dither_amplitude_hu(header.step_hu))


def _grouped(values: dict[str, Any]) -> list[tuple[Any, list[str]]]:
    """(value, ids having it) pairs, the most common value first."""
    groups: dict[Any, list[str]] = {}
    for key, value in values.items():
        groups.setdefault(value, []).append(key)
    return sorted(groups.items(), key=lambda item: -len(item[1]))


def _ids(ids: list[str]) -> str:
    shown = ", ".join(repr(volume_id) for volume_id in ids[:3])
    return shown + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def _mm(values: list[float] | tuple[float, ...]) -> str:
    return " x ".join(f"{value:.0f}" for value in values) + " mm"


def volume_label(manifest: Manifest, volume_id: str) -> str:
    """How errors about one volume name it: the manifest and the volume's id."""
    return f"{manifest.path}: [[volume]] {volume_id!r}"


def study_document(
    manifest: Manifest,
    grid: tuple[tuple[int, int, int], float],
    names: dict[str, str],
    digests: dict[str, str],
    video: str | None,
    dithers: dict[str, Dither | None],
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
    rating = manifest.rating
    discrimination = manifest.discrimination
    return {
        "format": FORMAT,
        "title": manifest.title,
        "slug": manifest.slug,
        "seed": manifest.seed,
        "grid": {"shape": list(grid[0]), "spacing": grid[1]},
        "dither": {
            "enabled": manifest.dither,
            "amplitude_hu": SERVED_STEP_HU / 2.0 if manifest.dither else 0.0,
            "seed": dither_seed(manifest.seed) if manifest.dither else None,
        },
        "clip": list(manifest.clip),
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
                "dither_hu": dithers[v.id].amplitude_hu if dithers[v.id] else 0.0,
            }
            for v in manifest.volumes
        ],
        "recognition": recognition,
        "ranking": list(structures.values()),
        "rating": None
        if rating is None
        else {
            "volumes": [names[volume_id] for volume_id in rating.volumes],
            "scale": rating.scale,
            "question": rating.question,
            "labels": list(rating.labels),
            "position": rating.position,
            "window": rating.window,
            "higher_is_more_realistic": rating.higher_is_more_realistic,
        },
        "discrimination": None
        if discrimination is None
        else {
            "volumes": [names[volume_id] for volume_id in discrimination.volumes],
            "question": discrimination.question,
            "real_sources": list(discrimination.real_sources),
            "position": discrimination.position,
            "window": discrimination.window,
        },
        "analysis": manifest.analysis,
    }


def build_bundle(
    manifest_path: Path, out: Path, *, workers: int | None = None, progress: bool = True, overwrite: bool = False
) -> Path:
    """Build the blinded bundle of `manifest_path` at `out` and return `out`; StudyError on any problem (SIGTERM
    included), with nothing written: no bundle, staging folder, created parent folder or worker process is left.
    """
    manifest = read_manifest(Path(manifest_path))
    out = Path(out).absolute()
    if out.exists() and not overwrite:
        raise StudyError(f"{out}: already exists; choose another --out or pass --force to replace it")
    if out.exists() and not (out / STUDY_FILE).is_file():
        raise StudyError(f"{out}: exists and is not a study bundle; refusing to replace it")
    headers = read_headers(manifest)
    shape, spacing = study_grid(manifest, headers)
    check_crop(manifest, headers, shape, spacing)
    check_distinct_files(manifest)
    names = _unique_names([v.id for v in manifest.volumes])
    dithers = {v.id: volume_dither(manifest, v, headers[v.id]) for v in manifest.volumes}
    with _sigterm_stops_the_build():
        created, staging = _make_staging(out)
        try:
            (staging / VOLUMES_DIR).mkdir()
            jobs = [
                Job(
                    v.file,
                    v.intensity,
                    shape,
                    spacing,
                    volume_label(manifest, v.id),
                    staging / VOLUMES_DIR / f"{names[v.id]}.nii.gz",
                    manifest.clip,
                    dithers[v.id],
                )
                for v in manifest.volumes
            ]
            secrets.SystemRandom().shuffle(jobs)  # write order (and so inode order) says nothing about manifest order
            by_target = dict(map_volumes(run_job, jobs, workers=workers, desc="normalising volumes", progress=progress))
            digests = {v.id: by_target[staging / VOLUMES_DIR / f"{names[v.id]}.nii.gz"] for v in manifest.volumes}
            video = _copy_video(manifest, staging)
            _same_timestamps(staging)
            write_study(staging, study_document(manifest, (shape, spacing), names, digests, video, dithers))
            _move_into_place(staging, out)
        except BaseException as error:
            shutil.rmtree(staging, ignore_errors=True)
            for folder in reversed(created):
                _remove_if_empty(folder)
            if isinstance(error, OSError):  # e.g. the disk filled up
                where = f": {error.filename}" if error.filename else ""
                raise StudyError(f"{out}: cannot write the bundle ({error.strerror or error}{where})") from None
            raise
    return out


@contextmanager
def _sigterm_stops_the_build() -> Iterator[None]:
    """Turn SIGTERM into a StudyError while building (main thread only), so the clean-up above runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the clean-up
        raise StudyError("the build was stopped (SIGTERM); nothing was written")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _make_staging(out: Path) -> tuple[list[Path], Path]:
    """Create out's missing parent folders (returned, outermost first) and a staging folder beside `out`."""
    missing = [folder for folder in [out.parent, *out.parent.parents] if not folder.exists()][::-1]
    created: list[Path] = []
    try:
        for folder in missing:
            folder.mkdir()
            created.append(folder)
        return created, Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as error:
        for folder in reversed(created):
            _remove_if_empty(folder)
        raise StudyError(
            f"{out}: cannot create the bundle there ({error.strerror or error}"
            f"{f': {error.filename}' if error.filename else ''}); choose another --out"
        ) from None


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


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
