"""Study bundles: `study.json` (format medsyn-study/1) plus `volumes/<opaque>.nii.gz`; reading and checking them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.digests import file_sha256
from contracts.study_format import FORMAT, MEDIA_DIR, NAME_PATTERN, STUDY_FILE, VOLUMES_DIR
from contracts.windows import RECOGNITION_WINDOW, WINDOWS
from studies.analysis.plan import resolve_plan
from studies.errors import StudyError
from studies.manifest import DISCRIMINATION_POSITIONS, RATING_POSITIONS, SCALE_RANGE


def write_study(bundle: Path, study: dict[str, Any]) -> None:
    """Write study.json (UTF-8, indented, keys in contract order)."""
    (Path(bundle) / STUDY_FILE).write_text(json.dumps(study, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_study(bundle: Path, *, verify_files: bool = True) -> dict[str, Any]:
    """Parse and check a bundle's study.json; with `verify_files`, also that every volume is present with its sha256.

    Raises StudyError naming the bundle, the key and what is wrong. The platform's import reuses this.
    """
    bundle = Path(bundle)
    path = bundle / STUDY_FILE
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyError(f"{bundle}: not a study bundle (no {STUDY_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StudyError(f"{path}: cannot read it as JSON ({error})") from None
    _check_study(study, path)
    if verify_files:
        for volume in study["volumes"]:
            file = bundle / volume["file"]
            if not file.is_file():
                raise StudyError(f"{path}: volume {volume['name']}: file {volume['file']} is missing")
            if file_sha256(file) != volume["sha256"]:
                raise StudyError(
                    f"{path}: volume {volume['name']}: {volume['file']} does not match its sha256 (changed or corrupt)"
                )
        if study["video"] is not None and not (bundle / study["video"]).is_file():
            raise StudyError(f"{path}: video {study['video']} is missing")
    return study


def _require(condition: bool, path: Path, where: str, problem: str) -> None:
    if not condition:
        raise StudyError(f"{path}: {where}: {problem}")


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _check_study(study: Any, path: Path) -> None:
    """Check study.json's structure against the medsyn-study/1 contract."""
    _require(isinstance(study, dict), path, "top level", "must be a JSON object")
    _require(study.get("format") == FORMAT, path, "format", f"expected {FORMAT!r}, found {study.get('format')!r}")
    for key in ("title", "slug", "instructions", "closing_message"):
        _require(_is_text(study.get(key)), path, key, "must be a string")
    _require(
        isinstance(study.get("seed"), int) and not isinstance(study["seed"], bool), path, "seed", "must be an integer"
    )
    grid = study.get("grid")
    _require(
        isinstance(grid, dict)
        and isinstance(grid.get("shape"), list)
        and len(grid["shape"]) == 3
        and all(isinstance(n, int) and n > 0 for n in grid["shape"])
        and isinstance(grid.get("spacing"), (int, float))
        and grid["spacing"] > 0,
        path,
        "grid",
        'must be {"shape": [x, y, z], "spacing": mm}',
    )
    _check_served_values(study, path)
    video = study.get("video")
    _require(
        video is None or (_is_text(video) and video.startswith(f"{MEDIA_DIR}/") and ".." not in video),
        path,
        "video",
        "must be null or a path under media/",
    )
    volumes = study.get("volumes")
    _require(isinstance(volumes, list) and volumes, path, "volumes", "must be a non-empty list")
    names: set[str] = set()
    for number, volume in enumerate(volumes, start=1):
        where = f"volumes[{number}]"
        _require(isinstance(volume, dict), path, where, "must be an object")
        name = volume.get("name")
        _require(
            _is_text(name) and NAME_PATTERN.fullmatch(name) is not None,
            path,
            where,
            f"name {name!r} is not 24 lower-case hex characters",
        )
        _require(name not in names, path, where, f"name {name} is used twice")
        names.add(name)
        _require(
            volume.get("file") == f"{VOLUMES_DIR}/{name}.nii.gz",
            path,
            where,
            f"file must be {VOLUMES_DIR}/{name}.nii.gz",
        )
        for key in ("id", "source", "original_file", "sha256"):
            _require(_is_text(volume.get(key)) and volume[key], path, where, f"{key} must be a non-empty string")
        _require(
            volume.get("finding") is None or _is_text(volume["finding"]),
            path,
            where,
            "finding must be a string or null",
        )
    ids = [volume["id"] for volume in volumes]
    _require(len(set(ids)) == len(ids), path, "volumes", "two volumes share an id")
    _check_tasks(study, names, path)
    study_plan(study, path)


def study_tasks(study: dict[str, Any]) -> tuple[str, ...]:
    """The task kinds a study.json defines, in the plan's order."""
    return tuple(task for task in ("ranking", "recognition", "rating", "discrimination") if study.get(task))


def study_plan(study: dict[str, Any], path: Path) -> dict[str, Any]:
    """study.json's analysis plan, checked; the documented defaults for a bundle built before plans existed."""
    plan = study.get("analysis")
    _require(plan is None or isinstance(plan, dict), path, "analysis", "must be an object or absent")

    def fail(where: str, problem: str) -> StudyError:
        return StudyError(f"{path}: analysis {where}: {problem}")

    return resolve_plan(plan, study_tasks(study), {volume["source"] for volume in study["volumes"]}, fail)


def _check_served_values(study: dict[str, Any], path: Path) -> None:
    """The optional `dither` and `clip` records (bundles built before they existed have neither)."""
    dither = study.get("dither")
    if dither is not None:
        _require(
            isinstance(dither, dict)
            and isinstance(dither.get("enabled"), bool)
            and isinstance(dither.get("amplitude_hu"), (int, float))
            and not isinstance(dither["amplitude_hu"], bool)
            and dither["amplitude_hu"] >= 0
            and (
                dither.get("seed") is None or (isinstance(dither["seed"], int) and not isinstance(dither["seed"], bool))
            ),
            path,
            "dither",
            'must be {"enabled": true or false, "amplitude_hu": HU >= 0, "seed": integer or null}',
        )
    clip = study.get("clip")
    if clip is not None:
        _require(
            isinstance(clip, list)
            and len(clip) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in clip)
            and clip[0] < clip[1],
            path,
            "clip",
            "must be [LOW, HIGH], whole HU with LOW below HIGH",
        )


def _check_names(names: Any, known: set[str], path: Path, where: str, minimum: int) -> None:
    _require(
        isinstance(names, list) and len(names) >= minimum and len(set(map(str, names))) == len(names),
        path,
        where,
        f"must list at least {minimum} distinct volume names",
    )
    for name in names:
        _require(name in known, path, where, f"{name!r} is not a volume of this study")


def _check_tasks(study: dict[str, Any], names: set[str], path: Path) -> None:
    """Check the recognition and ranking task definitions refer to the study's volumes."""
    recognition = study.get("recognition", "missing")
    _require(recognition is None or isinstance(recognition, dict), path, "recognition", "must be an object or null")
    if recognition is not None:
        options = recognition.get("options")
        _require(
            isinstance(options, list) and len(options) >= 2 and all(_is_text(o) for o in options),
            path,
            "recognition.options",
            "must list at least two strings",
        )
        _check_names(recognition.get("volumes"), names, path, "recognition.volumes", 1)
        _require(
            recognition.get("window", RECOGNITION_WINDOW) in WINDOWS,
            path,
            "recognition.window",  # absent in older bundles
            f"must be one of {', '.join(WINDOWS)}",
        )
    ranking = study.get("ranking")
    _require(isinstance(ranking, list), path, "ranking", "must be a list")
    set_ids: set[str] = set()
    for number, entry in enumerate(ranking, start=1):
        where = f"ranking[{number}]"
        _require(isinstance(entry, dict) and _is_text(entry.get("structure")), path, where, "needs a structure name")
        _require(entry.get("window") in WINDOWS, path, where, f"window must be one of {', '.join(WINDOWS)}")
        _require(isinstance(entry.get("sets"), list) and entry["sets"], path, where, "needs a non-empty list of sets")
        for ranking_set in entry["sets"]:
            _require(
                isinstance(ranking_set, dict) and _is_text(ranking_set.get("set")),
                path,
                where,
                "every set needs a set id",
            )
            _require(ranking_set["set"] not in set_ids, path, where, f"set id {ranking_set['set']!r} is used twice")
            set_ids.add(ranking_set["set"])
            _check_names(ranking_set.get("volumes"), names, path, f"{where} set {ranking_set['set']}", 2)
    _check_rating(study.get("rating"), names, path)
    _check_discrimination(study, names, path)


def _check_single_scan(task: Any, names: set[str], path: Path, where: str, positions: tuple[str, ...]) -> None:
    """What rating and discrimination share: volumes, question, position, window (bundles before them have neither)."""
    _require(isinstance(task, dict), path, where, "must be an object or null")
    _check_names(task.get("volumes"), names, path, f"{where}.volumes", 1)
    _require(_is_text(task.get("question")) and task["question"].strip(), path, f"{where}.question", "must be text")
    _require(task.get("position") in positions, path, f"{where}.position", f"must be one of {', '.join(positions)}")
    _require(task.get("window") in WINDOWS, path, f"{where}.window", f"must be one of {', '.join(WINDOWS)}")


def _check_rating(rating: Any, names: set[str], path: Path) -> None:
    if rating is None:
        return
    _check_single_scan(rating, names, path, "rating", RATING_POSITIONS)
    scale = rating.get("scale")
    _require(
        isinstance(scale, int) and not isinstance(scale, bool) and SCALE_RANGE[0] <= scale <= SCALE_RANGE[1],
        path,
        "rating.scale",
        f"must be a whole number from {SCALE_RANGE[0]} to {SCALE_RANGE[1]}",
    )
    _require(
        isinstance(rating.get("higher_is_more_realistic", True), bool),
        path,
        "rating.higher_is_more_realistic",  # absent in older bundles: true
        "must be true or false",
    )
    labels = rating.get("labels")
    _require(
        isinstance(labels, list) and len(labels) == scale and all(_is_text(label) for label in labels),
        path,
        "rating.labels",
        "must list one text per point of the scale",
    )


def _check_discrimination(study: dict[str, Any], names: set[str], path: Path) -> None:
    task = study.get("discrimination")
    if task is None:
        return
    _check_single_scan(task, names, path, "discrimination", DISCRIMINATION_POSITIONS)
    real = task.get("real_sources")
    _require(
        isinstance(real, list) and real and all(_is_text(source) and source for source in real),
        path,
        "discrimination.real_sources",
        "must list the sources that count as real",
    )
    sources = {volume["name"]: volume["source"] for volume in study["volumes"]}
    shown = {sources[name] for name in task["volumes"]}
    _require(
        bool(shown & set(real)) and bool(shown - set(real)),
        path,
        "discrimination.volumes",
        "must hold both real and synthetic scans",
    )
