"""Study manifests: read a researcher's TOML file and check it, naming the file, the key and what is wrong."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.study_format import DEFAULT_OPTIONS, VIDEO_TYPES, slugify
from contracts.toml_file import TomlFile
from contracts.volumes import HU_CLIP
from contracts.windows import RECOGNITION_WINDOW, WINDOWS, default_window
from studies.analysis.plan import resolve_plan
from studies.errors import StudyError
from studies.normalise import MAX_SERVED_VOXELS

INTENSITIES = ("hu", "unit")

STUDY_KEYS = {
    "title",
    "slug",
    "seed",
    "shape",
    "spacing",
    "instructions",
    "instructions_file",
    "video_file",
    "closing_message",
    "dither",
    "clip",
    "allow_crop",
}
VOLUME_KEYS = {"id", "file", "source", "finding", "intensity"}
RECOGNITION_KEYS = {"volumes", "options", "window"}
RANKING_KEYS = {"structure", "volumes", "window"}
RATING_KEYS = {"volumes", "scale", "question", "labels", "position", "window", "higher_is_more_realistic"}
DISCRIMINATION_KEYS = {"volumes", "question", "real_sources", "position", "window"}
TOP_KEYS = {"study", "volume", "recognition", "ranking", "rating", "discrimination", "analysis"}
RATING_POSITIONS = ("shuffled", "first", "last")
"""Where rating tasks go in a reader's plan: shuffled among the other single-scan tasks, before or after all others."""
DISCRIMINATION_POSITIONS = ("last", "shuffled")
"""Where real-or-synthetic tasks go: after every other task (they tell readers some scans are synthetic) or shuffled
among the single-scan tasks."""
SCALE_RANGE = (2, 10)
DEFAULT_RATING_QUESTION = "How realistic does this scan look?"
DEFAULT_DISCRIMINATION_QUESTION = "Is this a real scan or a synthetic one?"


@dataclass(frozen=True)
class VolumeEntry:
    """One [[volume]] table: the researcher's id, the resolved file, its hidden source, truth and intensity
    convention.
    """

    id: str
    file: Path
    original_file: str
    source: str
    finding: str | None
    intensity: str


@dataclass(frozen=True)
class Recognition:
    """The [recognition] table: which volumes (by id) readers label, the options they choose from, the window preset."""

    volumes: tuple[str, ...]
    options: tuple[str, ...]
    window: str


@dataclass(frozen=True)
class RankingSet:
    """One [[ranking]] table: a set of volumes (by id) ranked for one structure, shown in one window preset."""

    structure: str
    volumes: tuple[str, ...]
    window: str


@dataclass(frozen=True)
class Rating:
    """The [rating] table: volumes (by id) scored one per page on a 1..scale scale, one label per point."""

    volumes: tuple[str, ...]
    scale: int
    question: str
    labels: tuple[str, ...]
    position: str
    window: str
    higher_is_more_realistic: bool = True


@dataclass(frozen=True)
class Discrimination:
    """The [discrimination] table: volumes (by id) each judged real or synthetic with a confidence of 1–5; the
    sources that count as real."""

    volumes: tuple[str, ...]
    question: str
    real_sources: tuple[str, ...]
    position: str
    window: str


def default_labels(scale: int) -> tuple[str, ...]:
    """What each point of a realism scale means when the manifest does not say: the two ends, numbers between."""
    return ("Clearly unrealistic", *[""] * (scale - 2), "Fully realistic")


@dataclass(frozen=True)
class Manifest:
    """A checked study manifest; paths are resolved against the manifest's folder. `shape` and `spacing` are None
    where the manifest leaves them to the inputs (the build takes them from the inputs only where all agree).
    """

    path: Path
    title: str
    slug: str
    seed: int
    shape: tuple[int, int, int] | None
    spacing: float | None
    instructions: str
    video: Path | None
    closing_message: str
    volumes: tuple[VolumeEntry, ...]
    recognition: Recognition | None
    ranking: tuple[RankingSet, ...]
    rating: Rating | None
    discrimination: Discrimination | None
    dither: bool
    clip: tuple[int, int]
    allow_crop: bool
    analysis: dict[str, Any]


class _Checker(TomlFile):
    """A manifest's typed look-ups (StudyError naming the manifest and the key), plus lists of volume ids."""

    def __init__(self, path: Path):
        super().__init__(path, error=StudyError, what="manifest")

    def flag(self, table: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(where, f"{key!r} must be true or false, not {value!r}")
        return value

    def id_list(self, table: dict[str, Any], key: str, where: str, known: set[str]) -> tuple[str, ...]:
        value = table.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise self.fail(where, f"{key!r} must be a non-empty list of volume ids")
        for item in value:
            if item not in known:
                raise self.fail(where, f"unknown volume id {item!r} in {key!r} (no [[volume]] has this id)")
        repeated = [item for item, count in Counter(value).items() if count > 1]
        if repeated:
            raise self.fail(where, f"volume {repeated[0]!r} is listed more than once in {key!r}")
        return tuple(value)


def read_manifest(path: Path) -> Manifest:
    """Parse and check a study manifest; every problem is a StudyError naming the file, the key and what is wrong."""
    path = Path(path)
    check = _Checker(path)
    raw = check.raw
    check.known_keys(raw, TOP_KEYS, "top level")
    folder = path.parent
    study = raw.get("study")
    if not isinstance(study, dict):
        raise check.fail("[study]", "missing table (it holds title and seed)")
    check.known_keys(study, STUDY_KEYS, "[study]")
    title = check.text(study, "title", "[study]")
    slug = check.text(study, "slug", "[study]", required=False) or slugify(title)
    if slug != slugify(slug) or not slug:
        raise check.fail("[study]", f"'slug' must be lower-case letters, digits and hyphens, not {slug!r}")
    seed = study.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise check.fail(
            "[study]", f"'seed' must be an integer, not {seed!r}" if "seed" in study else "missing key 'seed'"
        )
    volumes = _read_volumes(raw.get("volume"), folder, check)
    tasks = {
        "ranking": raw.get("ranking"),
        "recognition": raw.get("recognition"),
        "rating": raw.get("rating"),
        "discrimination": raw.get("discrimination"),
    }
    return Manifest(
        path=path,
        title=title,
        slug=slug,
        seed=seed,
        shape=_read_shape(study, check),
        spacing=_read_spacing(study, check),
        instructions=_read_instructions(study, folder, check),
        video=_read_video(study, folder, check),
        closing_message=check.text(study, "closing_message", "[study]", required=False) or "",
        volumes=volumes,
        recognition=_read_recognition(raw.get("recognition"), {volume.id: volume for volume in volumes}, check),
        ranking=_read_ranking(raw.get("ranking"), {volume.id: volume.source for volume in volumes}, check),
        rating=_read_rating(raw.get("rating"), {volume.id for volume in volumes}, check),
        discrimination=_read_discrimination(
            raw.get("discrimination"), {volume.id: volume.source for volume in volumes}, check
        ),
        dither=check.flag(study, "dither", "[study]", True),
        clip=_read_clip(study, check),
        allow_crop=check.flag(study, "allow_crop", "[study]", False),
        analysis=_read_analysis(raw.get("analysis"), tuple(t for t, v in tasks.items() if v), volumes, check),
    )


def _read_analysis(
    table: Any, tasks: tuple[str, ...], volumes: tuple[VolumeEntry, ...], check: _Checker
) -> dict[str, Any]:
    """[analysis] and its per-task tables, resolved over the documented defaults (`studies.analysis.plan`)."""
    if table is not None and (not isinstance(table, dict) or "written" in table):
        raise check.fail("[analysis]", "must be a table of alpha, primary, correction, ... (see the README)")
    return resolve_plan(table, tasks, {volume.source for volume in volumes}, check.fail)


def _read_shape(study: dict[str, Any], check: _Checker) -> tuple[int, int, int] | None:
    shape = study.get("shape")
    if shape is None:
        return None
    if not (
        isinstance(shape, list)
        and len(shape) == 3
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    ):
        raise check.fail("[study]", f"'shape' must be three positive integers like [256, 256, 256], not {shape!r}")
    voxels = shape[0] * shape[1] * shape[2]
    if voxels > MAX_SERVED_VOXELS:
        raise check.fail(
            "[study]",
            f"'shape' {shape!r} is {voxels:,} voxels per volume, more than the limit of {MAX_SERVED_VOXELS:,} "
            "(512 x 512 x 512, already 256 MiB per scan in the reader's browser)",
        )
    return tuple(shape)


def _read_spacing(study: dict[str, Any], check: _Checker) -> float | None:
    spacing = study.get("spacing")
    if spacing is None:
        return None
    if not isinstance(spacing, (int, float)) or isinstance(spacing, bool) or not 0 < spacing < 100:
        raise check.fail("[study]", f"'spacing' must be a positive number of millimetres, not {spacing!r}")
    return float(spacing)


def _read_clip(study: dict[str, Any], check: _Checker) -> tuple[int, int]:
    """[study] clip = [LOW, HIGH]: whole HU within the served 12-bit range, LOW below HIGH."""
    clip = study.get("clip", list(HU_CLIP))
    if not (
        isinstance(clip, list)
        and len(clip) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in clip)
        and HU_CLIP[0] <= clip[0] < clip[1] <= HU_CLIP[1]
    ):
        raise check.fail(
            "[study]",
            f"'clip' must be [LOW, HIGH], whole HU with {HU_CLIP[0]} <= LOW < HIGH <= {HU_CLIP[1]} "
            f"(e.g. [-1024, 600] to serve every source on the generators' range), not {clip!r}",
        )
    return tuple(clip)


def _read_video(study: dict[str, Any], folder: Path, check: _Checker) -> Path | None:
    video = _existing_file(study, "video_file", folder, "[study]", check)
    if video is not None and video.suffix.lower() not in VIDEO_TYPES:
        raise check.fail(
            "[study]",
            f"video_file {video.name!r} is not a format the platform serves ({', '.join(VIDEO_TYPES)}); "
            "convert it, e.g. ffmpeg -i in.mov out.mp4",
        )
    return video


def _existing_file(table: dict[str, Any], key: str, folder: Path, where: str, check: _Checker) -> Path | None:
    name = check.text(table, key, where, required=False)
    if name is None:
        return None
    file = folder / name
    if not file.is_file():
        raise check.fail(where, f"{key} {name!r} does not exist (looked for {file})")
    return file


def _read_instructions(study: dict[str, Any], folder: Path, check: _Checker) -> str:
    if "instructions" in study and "instructions_file" in study:
        raise check.fail("[study]", "give either 'instructions' or 'instructions_file', not both")
    file = _existing_file(study, "instructions_file", folder, "[study]", check)
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise check.fail("[study]", f"cannot read instructions_file {file} ({error})") from None
    return check.text(study, "instructions", "[study]", required=False) or ""


def _read_volumes(tables: Any, folder: Path, check: _Checker) -> tuple[VolumeEntry, ...]:
    if not isinstance(tables, list) or not tables:
        raise check.fail("[[volume]]", "no volumes: add at least one [[volume]] table with id, file and source")
    volumes: list[VolumeEntry] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        where = f"[[volume]] #{number}"
        if not isinstance(table, dict):
            raise check.fail(where, "must be a table ([[volume]] with id, file and source)")
        check.known_keys(table, VOLUME_KEYS, where)
        volume_id = check.text(table, "id", where)
        where = f"[[volume]] {volume_id!r}"
        if volume_id in seen:
            raise check.fail(where, "duplicate id (each [[volume]] needs its own id)")
        seen.add(volume_id)
        file = _existing_file(table, "file", folder, where, check)
        if file is None:
            raise check.fail(where, "missing key 'file'")
        intensity = table.get("intensity", "hu")
        if intensity not in INTENSITIES:
            raise check.fail(where, f'\'intensity\' must be "hu" or "unit", not {intensity!r}')
        volumes.append(
            VolumeEntry(
                id=volume_id,
                file=file,
                original_file=table["file"],
                source=check.text(table, "source", where),
                finding=check.text(table, "finding", where, required=False),
                intensity=intensity,
            )
        )
    return tuple(volumes)


def _read_recognition(table: Any, volumes: dict[str, VolumeEntry], check: _Checker) -> Recognition | None:
    if table is None:
        return None
    where = "[recognition]"
    if not isinstance(table, dict):
        raise check.fail(where, "must be a table")
    check.known_keys(table, RECOGNITION_KEYS, where)
    ids = check.id_list(table, "volumes", where, set(volumes))
    options = table.get("options", list(DEFAULT_OPTIONS))
    if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) and o.strip() for o in options):
        raise check.fail(where, "'options' must be a list of at least two non-empty strings")
    folded = [option.strip().casefold() for option in options]
    if len(set(folded)) != len(folded):
        raise check.fail(where, "'options' lists the same option twice")
    for volume_id in ids:
        finding = volumes[volume_id].finding
        if finding is None:
            raise check.fail(
                f"[[volume]] {volume_id!r}",
                "is in [recognition] but has no 'finding' (the truth readers are scored against)",
            )
        if finding.casefold() not in folded:
            raise check.fail(
                f"[[volume]] {volume_id!r}", f"finding {finding!r} is not among the [recognition] options {options}"
            )
    window = table.get("window", RECOGNITION_WINDOW)
    if not isinstance(window, str) or window not in WINDOWS:
        raise check.fail(where, f"'window' must be one of {', '.join(WINDOWS)}, not {window!r}")
    return Recognition(volumes=ids, options=tuple(option.strip() for option in options), window=window)


def _read_ranking(tables: Any, sources: dict[str, str], check: _Checker) -> tuple[RankingSet, ...]:
    """The ranking sets; each set ranks one volume per source, and every set of a structure ranks the same sources
    (otherwise the analysis, which compares sources within complete blocks, would have nothing to compare)."""
    if tables is None:
        return ()
    if not isinstance(tables, list):
        raise check.fail("[[ranking]]", "must be an array of tables ([[ranking]], not [ranking])")
    sets: list[RankingSet] = []
    windows: dict[str, str] = {}
    ranked: dict[str, tuple[int, set[str]]] = {}
    for number, table in enumerate(tables, start=1):
        where = f"[[ranking]] #{number}"
        if not isinstance(table, dict):
            raise check.fail(where, "must be a table ([[ranking]] with structure and volumes)")
        check.known_keys(table, RANKING_KEYS, where)
        structure = check.text(table, "structure", where)
        where = f"[[ranking]] #{number} ({structure!r})"
        volumes = check.id_list(table, "volumes", where, set(sources))
        if len(volumes) < 2:
            raise check.fail(where, "a ranking set needs at least two volumes")
        by_source: dict[str, str] = {}
        for volume_id in volumes:
            other = by_source.setdefault(sources[volume_id], volume_id)
            if other != volume_id:
                raise check.fail(
                    where,
                    f"{other!r} and {volume_id!r} are both from source {sources[volume_id]!r}; "
                    "a ranking set compares sources, so it needs one volume per source",
                )
        first, first_sources = ranked.setdefault(structure, (number, set(by_source)))
        if first_sources != set(by_source):
            raise check.fail(
                where,
                f"ranks sources {', '.join(sorted(by_source))} but [[ranking]] #{first} of the same "
                f"structure ranks {', '.join(sorted(first_sources))}; every set of a structure "
                "must rank the same sources",
            )
        window = table.get("window", default_window(structure))
        if not isinstance(window, str) or window not in WINDOWS:
            raise check.fail(where, f"'window' must be one of {', '.join(WINDOWS)}, not {window!r}")
        slugs = {slugify(other): other for other in windows}
        if not slugify(structure) or slugs.get(slugify(structure), structure) != structure:
            raise check.fail(
                where, f"structure name {structure!r} needs letters or digits that set it apart from other structures"
            )
        if windows.setdefault(structure, window) != window:
            raise check.fail(
                where, f"window {window!r} differs from {windows[structure]!r} given earlier for the same structure"
            )
        sets.append(RankingSet(structure=structure, volumes=volumes, window=window))
    return tuple(sets)


def _single_table(table: Any, where: str, keys: set[str], check: _Checker) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise check.fail(where, f"must be a table ({where}, not [[{where[1:-1]}]])")
    check.known_keys(table, keys, where)
    return table


def _choice(table: dict[str, Any], key: str, where: str, choices: tuple[str, ...], check: _Checker) -> str:
    value = table.get(key, choices[0])
    if value not in choices:
        raise check.fail(where, f"{key!r} must be one of {', '.join(map(repr, choices))}, not {value!r}")
    return value


def _window(table: dict[str, Any], where: str, check: _Checker) -> str:
    window = table.get("window", RECOGNITION_WINDOW)
    if not isinstance(window, str) or window not in WINDOWS:
        raise check.fail(where, f"'window' must be one of {', '.join(WINDOWS)}, not {window!r}")
    return window


def _read_rating(table: Any, known: set[str], check: _Checker) -> Rating | None:
    """[rating]: volumes, scale 2–10 (default 5), question, one label per point (empty: the number alone)."""
    if table is None:
        return None
    where = "[rating]"
    table = _single_table(table, where, RATING_KEYS, check)
    volumes = check.id_list(table, "volumes", where, known)
    scale = check.integer(table, "scale", where, 5)
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise check.fail(where, f"'scale' must be from {SCALE_RANGE[0]} to {SCALE_RANGE[1]} points, not {scale}")
    higher = check.flag(table, "higher_is_more_realistic", where, True)
    labels = table.get("labels", list(default_labels(scale))[:: 1 if higher else -1])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise check.fail(where, "'labels' must be a list of strings, one per point of the scale")
    if len(labels) != scale:
        raise check.fail(
            where,
            f"'labels' has {len(labels)} entries but the scale has {scale} points; give one per point "
            '(an empty string "" shows the number alone)',
        )
    return Rating(
        volumes=volumes,
        scale=scale,
        question=check.text(table, "question", where, DEFAULT_RATING_QUESTION),
        labels=tuple(label.strip() for label in labels),
        position=_choice(table, "position", where, RATING_POSITIONS, check),
        window=_window(table, where, check),
        higher_is_more_realistic=higher,
    )


def _read_discrimination(table: Any, sources: dict[str, str], check: _Checker) -> Discrimination | None:
    """[discrimination]: volumes, question, the sources that count as real (default ["real"]); both real and
    synthetic scans must be among the volumes, or accuracy and AUC would have nothing to tell apart."""
    if table is None:
        return None
    where = "[discrimination]"
    table = _single_table(table, where, DISCRIMINATION_KEYS, check)
    volumes = check.id_list(table, "volumes", where, set(sources))
    shown = {sources[volume_id] for volume_id in volumes}
    if "real_sources" in table:
        real = table["real_sources"]
        if not isinstance(real, list) or not real or not all(isinstance(s, str) and s for s in real):
            raise check.fail(where, "'real_sources' must be a non-empty list of source names")
        unknown = [s for s in real if s not in set(sources.values())]
        if unknown:
            raise check.fail(
                where,
                f"'real_sources' names {unknown[0]!r}, which no [[volume]] has as its source "
                f"(sources: {', '.join(sorted(set(sources.values())))})",
            )
    elif "real" in shown:
        real = ["real"]
    else:
        raise check.fail(
            where,
            "no volume of source 'real' is listed, so say which sources count as real: "
            f"real_sources = [...] (the listed volumes' sources: {', '.join(sorted(shown))})",
        )
    if not shown & set(real) or not shown - set(real):
        raise check.fail(
            where,
            "'volumes' must hold both real scans (sources "
            f"{', '.join(map(repr, real))}) and synthetic ones, so that readers have something to tell apart",
        )
    return Discrimination(
        volumes=volumes,
        question=check.text(table, "question", where, DEFAULT_DISCRIMINATION_QUESTION),
        real_sources=tuple(dict.fromkeys(real)),
        position=_choice(table, "position", where, DISCRIMINATION_POSITIONS, check),
        window=_window(table, where, check),
    )
