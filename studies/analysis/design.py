"""The study's design as a table (design.csv): which volume, of which source, in which task, set and structure.

It travels with the answers (the platform writes it beside rankings.csv) so `analyze` can refuse answers that do not
fit the study instead of computing silently wrong numbers from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from contracts.study_format import STUDY_FILE
from studies.bundle import load_study
from studies.errors import StudyError

DESIGN_FILE = "design.csv"
DESIGN_COLUMNS = ("task", "structure", "set", "volume", "source", "truth")
TASKS = ("recognition", "ranking", "rating", "discrimination")
TRUTHS = ("real", "synthetic")
"""What a discrimination volume is (its `truth`) and what a reader may answer."""


@dataclass(frozen=True)
class Design:
    """A validated design table and the file it came from (named in every refusal)."""

    rows: pd.DataFrame
    name: str

    @property
    def ranking(self) -> pd.DataFrame:
        """The ranking rows."""
        return self.rows[self.rows["task"] == "ranking"]

    def sources(self) -> dict[str, list[str]]:
        """The sources of each ranked structure, in the design's order."""
        return {s: list(dict.fromkeys(r["source"])) for s, r in self.ranking.groupby("structure", sort=False)}

    def where(self, rows: pd.DataFrame) -> str:
        """ "design.csv rows 4–7" for a group of design rows."""
        lines = rows["row"].tolist()
        span = f"row {lines[0]}" if len(lines) == 1 else f"rows {min(lines)}–{max(lines)}"
        return f"{self.name} {span}"


def design_from_study(path: str | Path) -> Design:
    """design.csv's rows from a bundle's study.json (the file, or the bundle folder that holds it)."""
    path = Path(path)
    bundle = path if path.is_dir() else path.parent
    if not path.is_dir() and path.name != STUDY_FILE:
        raise StudyError(f"{path}: expected a bundle's {STUDY_FILE} (or the bundle folder)")
    study = load_study(bundle, verify_files=False)
    volumes = {volume["name"]: volume for volume in study["volumes"]}
    rows = []
    for name in (study.get("recognition") or {}).get("volumes", []):
        rows.append(_row("recognition", "", "", volumes[name]))
    for entry in study.get("ranking") or []:
        for ranking_set in entry["sets"]:
            rows += [
                _row("ranking", entry["structure"], ranking_set["set"], volumes[n]) for n in ranking_set["volumes"]
            ]
    for name in (study.get("rating") or {}).get("volumes", []):
        rows.append({**_row("rating", "", "", volumes[name]), "truth": ""})
    discrimination = study.get("discrimination") or {}
    real_sources = set(discrimination.get("real_sources", []))
    for name in discrimination.get("volumes", []):
        truth = TRUTHS[0] if volumes[name]["source"] in real_sources else TRUTHS[1]
        rows.append({**_row("discrimination", "", "", volumes[name]), "truth": truth})
    table = pd.DataFrame(rows, columns=list(DESIGN_COLUMNS))
    return validate_design(table, str(bundle / STUDY_FILE))


def _row(task: str, structure: str, set_id: str, volume: dict) -> dict:
    """One design row of a study.json volume in one task."""
    return {
        "task": task,
        "structure": structure,
        "set": set_id,
        "volume": volume["id"],
        "source": volume["source"],
        "truth": volume.get("finding") or "",
    }


def validate_design(table: pd.DataFrame, name: str = "design.csv") -> Design:
    """Check the design: known tasks, a source and volume on every row, a structure and set on ranking rows, one
    structure per set, each volume once per set, and the same sources in every set of a structure; each volume once
    in the rating and discrimination tasks, and real or synthetic as the truth of every discrimination volume."""
    if "row" not in table.columns:
        table = table.assign(row=range(2, len(table) + 2))
    missing = [column for column in DESIGN_COLUMNS if column not in table.columns]
    if missing:
        raise StudyError(f"{name}: missing column(s) {', '.join(missing)}")
    table = table.copy()
    for column in DESIGN_COLUMNS:
        table[column] = table[column].map(lambda value: "" if pd.isna(value) else str(value).strip())
    for _, bad in table[~table["task"].isin(TASKS)].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: task {bad['task']!r} is not one of {', '.join(TASKS)}")
    for column, rows in (
        ("volume", table),
        ("source", table),
        ("structure", _ranking(table)),
        ("set", _ranking(table)),
    ):
        for _, bad in rows[rows[column] == ""].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: empty {column}")
    for task in ("rating", "discrimination"):
        rows = table[table["task"] == task]
        for _, bad in rows[rows.duplicated("volume")].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: volume {bad['volume']!r} is listed twice in the {task} task")
    discrimination = table[table["task"] == "discrimination"]
    for _, bad in discrimination[~discrimination["truth"].isin(TRUTHS)].head(1).iterrows():
        raise StudyError(
            f"{name}, row {bad['row']}: truth {bad['truth']!r} of a discrimination volume is not one of "
            f"{', '.join(TRUTHS)}"
        )
    ranking = _ranking(table)
    for volume, rows in ranking.groupby("volume", sort=False):
        if rows["set"].nunique() > 1:
            raise StudyError(
                f"{name}, rows {', '.join(map(str, rows['row']))}: volume {volume!r} is in sets "
                f"{', '.join(dict.fromkeys(rows['set']))}; a scan belongs to one ranking set (the scan-level tests "
                "permute each set's scans independently)"
            )
    for set_id, rows in ranking.groupby("set", sort=False):
        structures = rows["structure"].unique()
        if len(structures) > 1:
            raise StudyError(
                f"{name}, row {rows['row'].iloc[-1]}: set {set_id!r} is given two structures ({', '.join(structures)})"
            )
        repeated = rows[rows.duplicated("volume")]
        for _, bad in repeated.head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: volume {bad['volume']!r} is listed twice in set {set_id!r}")
    for structure, rows in ranking.groupby("structure", sort=False):
        per_set = rows.groupby("set", sort=False)["source"].agg(lambda s: tuple(sorted(set(s))))
        if per_set.nunique() > 1:
            first, odd = per_set.index[0], next(s for s in per_set.index if per_set[s] != per_set.iloc[0])
            raise StudyError(
                f"{name}: structure {structure!r}: set {odd!r} has sources {', '.join(per_set[odd])} but set "
                f"{first!r} has {', '.join(per_set[first])}; every set of a structure must hold the same sources"
            )
    return Design(table, name)


def check_rankings(rankings: pd.DataFrame, design: Design, name: str = "rankings.csv") -> None:
    """Refuse ranking rows that do not fit the design, naming the row: an unknown set, another structure, a source
    not in the design or not in that set, a volume not in that set or of another source."""
    sets = {set_id: rows for set_id, rows in design.ranking.groupby("set", sort=False)}
    every_source = set(design.ranking["source"])
    for row in rankings.itertuples(index=False):
        where = f"{name}, row {row.row}"
        if row.set not in sets:
            raise StudyError(f"{where}: set {row.set!r} is not a ranking set of the design ({design.name})")
        planned = sets[row.set]
        structure = planned["structure"].iloc[0]
        if row.structure != structure:
            raise StudyError(
                f"{where}: set {row.set!r} is of structure {structure!r} in the design ({design.where(planned)}), "
                f"not {row.structure!r}"
            )
        if row.source not in every_source:
            raise StudyError(
                f"{where}: source {row.source!r} is not a source of the design ({design.name} has: "
                f"{', '.join(sorted(every_source))})"
            )
        if row.source not in set(planned["source"]):
            raise StudyError(
                f"{where}: set {row.set!r} holds {', '.join(planned['source'])} in the design "
                f"({design.where(planned)}), not {row.source!r}"
            )
        volume = getattr(row, "volume", "")
        if isinstance(volume, str) and volume:
            match = planned[planned["volume"] == volume]
            if match.empty:
                raise StudyError(f"{where}: volume {volume!r} is not in set {row.set!r} ({design.where(planned)})")
            if match["source"].iloc[0] != row.source:
                raise StudyError(
                    f"{where}: volume {volume!r} is of source {match['source'].iloc[0]!r} in the design "
                    f"({design.where(match)}), not {row.source!r}"
                )


def check_pathology(pathology: pd.DataFrame, design: Design, name: str = "pathology.csv") -> None:
    """Refuse recognition rows that do not fit the design, naming the row: a volume the design does not give to
    recognition, or another source or truth than the design's."""
    check_task(pathology, design, "recognition", ("source", "truth"), name)


def check_task(answers: pd.DataFrame, design: Design, task: str, columns: tuple[str, ...], name: str) -> None:
    """Refuse answer rows of a one-scan task (recognition, rating, discrimination) that do not fit the design,
    naming the row: a volume the design does not give to the task, or another value in `columns` than the design's."""
    planned = design.rows[design.rows["task"] == task].set_index("volume")
    for row in answers.itertuples(index=False):
        where = f"{name}, row {row.row}"
        if row.volume not in planned.index:
            raise StudyError(f"{where}: volume {row.volume!r} is not a {task} volume of the design ({design.name})")
        line = design.where(planned.loc[[row.volume]].reset_index())
        for column in columns:
            expected = planned.loc[row.volume, column]
            if getattr(row, column) != expected:
                raise StudyError(f"{where}: {column} {getattr(row, column)!r} is {expected!r} in the design ({line})")


def _ranking(table: pd.DataFrame) -> pd.DataFrame:
    """The ranking rows of a design table."""
    return table[table["task"] == "ranking"]
