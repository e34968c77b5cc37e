"""Importing a study bundle (study.json + volumes/) made by `python -m studies build`: validate all, then write all."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import zstandard
from django.db import transaction

from contracts.study_format import DEFAULT_OPTIONS, FORMAT, VIDEO_TYPES
from contracts.windows import RECOGNITION_WINDOW, WINDOWS, default_window
from surveys.models import RankingSet, RecognitionItem, Study, Volume

_NAME = re.compile(r"^[a-z0-9]{8,64}$")
_SLUG = re.compile(r"^[-a-z0-9_]{1,100}$")
ZSTD_LEVEL = 3
"""zstd level of the stored copies. On a 256³ CT with realistic noise (33.6 MB raw), Chromium 156 fetched and decoded
level 3 (17.5 MB, 0.2 s to compress) in 0.36 s on loopback, level 9 (16.4 MB, 0.8 s) in 0.43 s and level 19
(15.0 MB, 29 s) in 0.51 s: higher levels save a few bytes at a large import cost and decode no faster."""


class BundleError(Exception):
    """A bundle the platform refuses: the message names the file, the key and what is wrong."""


def import_bundle(bundle: Path) -> tuple[Study, bool]:
    """Import `bundle` and return (study, created); the same bundle twice changes nothing, a broken one writes
    nothing.
    """
    bundle = Path(bundle)
    spec_path = bundle / "study.json"
    raw_spec = _read(spec_path)
    digest = hashlib.sha256(raw_spec).hexdigest()
    spec = _parse(spec_path, raw_spec)
    existing = Study.objects.filter(slug=spec["slug"]).first()
    if existing is not None:
        if existing.bundle_digest == digest:
            return existing, False
        raise BundleError(
            f"{spec_path}: a study with slug {spec['slug']!r} was already imported from a different study.json; "
            "give the new bundle its own slug"
        )
    volumes = {entry["name"]: entry for entry in spec["volumes"]}
    with tempfile.TemporaryDirectory(prefix=".importing-", dir=_data_root()) as staging:
        staging = Path(staging)
        raw_sizes = {name: _stage_volume(bundle, entry, staging / "volumes") for name, entry in volumes.items()}
        if spec["video"]:
            (staging / "media").mkdir()
            shutil.copyfile(bundle / spec["video"], staging / "media" / Path(spec["video"]).name)
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


def _read(path: Path) -> bytes:
    """The bytes of a required bundle file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{path}: not found (a bundle is a folder with study.json and volumes/)") from None
    except OSError as error:
        raise BundleError(f"{path}: cannot be read ({error.strerror})") from None


def _parse(path: Path, raw: bytes) -> dict[str, Any]:
    """study.json parsed and checked key by key."""
    try:
        spec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path}: not valid UTF-8 JSON ({error})") from None

    def need(obj: Any, key: str, kind: type | tuple, where: str) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            raise BundleError(f"{path}: {where}{key!r} is missing")
        if not isinstance(obj[key], kind) or (kind is int and isinstance(obj[key], bool)):
            raise BundleError(f"{path}: {where}{key!r} has the wrong type ({type(obj[key]).__name__})")
        return obj[key]

    if need(spec, "format", str, "") != FORMAT:
        raise BundleError(f"{path}: 'format' must be {FORMAT!r}, not {spec['format']!r}")
    need(spec, "title", str, "")
    if not _SLUG.match(need(spec, "slug", str, "")):
        raise BundleError(f"{path}: 'slug' must be lowercase letters, digits and dashes, not {spec['slug']!r}")
    need(spec, "seed", int, "")
    spec["instructions"] = spec.get("instructions") or ""
    spec["closing_message"] = spec.get("closing_message") or ""
    spec["video"] = spec.get("video") or None
    if spec["video"] is not None:
        video = Path(str(spec["video"]))
        if video.parts[:1] != ("media",) or video.suffix not in VIDEO_TYPES or not (path.parent / video).is_file():
            raise BundleError(f"{path}: 'video' must name an existing media/<name>.mp4 or .webm, not {spec['video']!r}")
    names = set()
    for i, entry in enumerate(need(spec, "volumes", list, "")):
        where = f"volumes[{i}]: "
        name = need(entry, "name", str, where)
        if not _NAME.match(name) or name in names:
            raise BundleError(
                f"{path}: {where}'name' {name!r} must be a unique opaque name (lowercase letters and digits)"
            )
        names.add(name)
        if need(entry, "file", str, where) != f"volumes/{name}.nii.gz":
            raise BundleError(f"{path}: {where}'file' must be 'volumes/{name}.nii.gz', not {entry['file']!r}")
        for key in ("id", "source", "sha256"):
            need(entry, key, str, where)
        if entry.get("finding") is not None and not isinstance(entry["finding"], str):
            raise BundleError(f"{path}: {where}'finding' must be text or null")
    recognition = spec.get("recognition")
    if recognition is not None:
        options = need(recognition, "options", list, "recognition: ") or list(DEFAULT_OPTIONS)
        if not all(isinstance(o, str) and o.strip() for o in options) or len(set(options)) != len(options):
            raise BundleError(f"{path}: recognition: 'options' must be distinct non-empty texts")
        recognition["options"] = options
        recognition["window"] = _window(path, "recognition: ", recognition.get("window") or RECOGNITION_WINDOW)
        _known(path, "recognition: 'volumes'", need(recognition, "volumes", list, "recognition: "), names)
    sets = set()
    for i, entry in enumerate(spec.setdefault("ranking", []) or []):
        where = f"ranking[{i}]: "
        need(entry, "structure", str, where)
        entry["window"] = _window(path, where, entry.get("window") or default_window(entry["structure"]))
        for j, ranking_set in enumerate(need(entry, "sets", list, where)):
            key = need(ranking_set, "set", str, f"{where}sets[{j}]: ")
            if key in sets:
                raise BundleError(f"{path}: {where}sets[{j}]: set {key!r} appears twice")
            sets.add(key)
            members = need(ranking_set, "volumes", list, f"{where}sets[{j}]: ")
            _known(path, f"{where}sets[{j}]: 'volumes'", members, names)
            if len(members) < 2 or len(set(members)) != len(members):
                raise BundleError(f"{path}: {where}sets[{j}]: 'volumes' must name at least two different scans")
    return spec


def _window(path: Path, where: str, window: Any) -> str:
    """Refuse a window that is not one of the presets."""
    if not isinstance(window, str) or window not in WINDOWS:
        raise BundleError(f"{path}: {where}'window' must be one of {', '.join(WINDOWS)}, not {window!r}")
    return window


def _known(path: Path, where: str, members: list, names: set[str]) -> None:
    """Refuse a reference to a volume that the bundle does not list."""
    for member in members:
        if member not in names:
            raise BundleError(f"{path}: {where} names {member!r}, which is not in 'volumes'")


def _stage_volume(bundle: Path, entry: dict[str, Any], folder: Path) -> int:
    """Check one volume (checksum, int16 3D NIfTI), store it as deterministic gzip and zstd streams; return its raw
    size.
    """
    path = bundle / entry["file"]
    packed = _read(path)
    if hashlib.sha256(packed).hexdigest() != entry["sha256"].lower():
        raise BundleError(f"{path}: its SHA-256 does not match 'sha256' in study.json (the file changed or is damaged)")
    try:
        raw = gzip.decompress(packed)
        image = nib.Nifti1Image.from_bytes(raw)
    except Exception as error:  # noqa: BLE001 - any decoding failure means the same thing to the researcher
        raise BundleError(f"{path}: not a gzip-compressed NIfTI-1 file ({error})") from None
    if image.header.get_data_dtype() != np.int16 or len(image.shape) != 3:
        raise BundleError(
            f"{path}: must be a 3D int16 volume, not {len(image.shape)}D {image.header.get_data_dtype()} "
            "(build bundles with `python -m studies build`)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    # mtime=0 and no file name in the gzip header: identical bytes for identical content, nothing to leak.
    (folder / f"{entry['name']}.nii.gz").write_bytes(gzip.compress(raw, compresslevel=6, mtime=0))
    # One frame with the content size and no checksum or dictionary: the same header for every volume of a grid.
    (folder / f"{entry['name']}.nii.zst").write_bytes(zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw))
    return len(raw)


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
        design={"seed": spec["seed"], "recognition": recognition, "ranking": spec["ranking"]},
        bundle_digest=digest,
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
    for entry in spec["ranking"]:
        for ranking_set in entry["sets"]:
            row = RankingSet.objects.create(
                study=study, structure=entry["structure"], key=ranking_set["set"], window=entry["window"]
            )
            row.volumes.set([volumes[name] for name in ranking_set["volumes"]])
    return study
