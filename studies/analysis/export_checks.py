"""One export, one study, one id per reader: what must hold across the export's files before any statistic.

Refuses answers of several studies pooled together, duplicated readers.csv rows and answers from readers readers.csv
does not know; merges reader ids that differ only in Unicode normalisation, zero-width characters or surrounding white
space (and lists each merge); leaves revoked readers' answers out and says so; flags ranking sets a single reader
ranked. Each refusal is a StudyError naming the file and rows; each note a sentence the report prints.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

from studies.analysis.tables import STATUSES
from studies.errors import StudyError

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
"""Characters that are invisible in a reader id: zero-width space, non-joiner, joiner, word joiner, BOM, soft hyphen."""
FILES = {
    "rankings": "rankings.csv",
    "recognition": "pathology.csv",
    "rating": "ratings.csv",
    "discrimination": "discrimination.csv",
}


def reader_id(value: object) -> str:
    """A reader id as one spelling: NFC, without zero-width characters and surrounding white space."""
    text = "" if pd.isna(value) else str(value)
    return unicodedata.normalize("NFC", text).translate(ZERO_WIDTH).strip()


def studies_in(answers: dict[str, pd.DataFrame | None]) -> list[str]:
    """The distinct non-empty `study` values of the answer tables, in order of appearance."""
    found: dict[str, None] = {}
    for table in answers.values():
        if table is not None and "study" in table.columns:
            found.update(dict.fromkeys(s for s in table["study"].map(reader_id) if s))
    return list(found)


def check_one_study(answers: dict[str, pd.DataFrame | None]) -> None:
    """Refuse answers of more than one study, naming each study and where it first appears."""
    studies = studies_in(answers)
    if len(studies) <= 1:
        return
    where = []
    for study in studies:
        for task, table in answers.items():
            if table is not None and "study" in table.columns:
                lines = table["row"] if "row" in table.columns else pd.Series(range(2, len(table) + 2), table.index)
                rows = lines[table["study"].map(reader_id) == study]
                if len(rows):
                    where.append(f"{study!r} ({FILES[task]} row {rows.iloc[0]}, {len(rows)} rows)")
                    break
    raise StudyError(
        f"the export holds answers of {len(studies)} studies: {', '.join(where)}; pooling them would mix their "
        "readers, scans and designs. Export each study on its own, or analyse them separately with --each-study"
    )


def split_by_study(answers: dict[str, pd.DataFrame | None]) -> dict[str, dict[str, pd.DataFrame | None]]:
    """The answer tables of each study of the `study` column (tables without it go to every study)."""
    split = {}
    for study in studies_in(answers):
        split[study] = {
            task: (
                table[table["study"].map(reader_id) == study].reset_index(drop=True)
                if table is not None and "study" in table.columns
                else table
            )
            for task, table in answers.items()
        }
    return split


def normalise_readers(
    answers: dict[str, pd.DataFrame | None], readers: pd.DataFrame | None
) -> tuple[dict[str, pd.DataFrame | None], pd.DataFrame | None, list[str]]:
    """Every table's reader ids in one spelling (`reader_id`); returns the tables and one sentence per merge of
    spellings that differ only invisibly."""
    tables = {**answers, "readers": readers}
    spellings: dict[str, dict[str, set[str]]] = {}
    for task, table in tables.items():
        if table is None or "reader" not in table.columns:
            continue
        for raw in table["reader"].map(lambda v: "" if pd.isna(v) else str(v)).unique():
            spellings.setdefault(reader_id(raw), {}).setdefault(raw, set()).add(FILES.get(task, "readers.csv"))
    merges = [
        f"reader ids {', '.join(ascii(raw) for raw in sorted(variants))} (in "
        f"{', '.join(sorted(set().union(*variants.values())))}) differ only in Unicode normalisation, invisible "
        f"characters or surrounding white space: merged as {name!r}"
        for name, variants in spellings.items()
        if len(variants) > 1
    ]
    normalised = {
        task: None if table is None else table.assign(reader=table["reader"].map(reader_id))
        for task, table in tables.items()
    }
    return {task: normalised[task] for task in answers}, normalised["readers"], merges


def reconcile_readers(
    answers: dict[str, pd.DataFrame | None], readers: pd.DataFrame
) -> tuple[dict[str, pd.DataFrame | None], list[str]]:
    """Hold the answers against readers.csv (validated, ids normalised): refuse a reader listed twice or answers from
    a reader it lacks; leave out the answers of revoked readers and say so."""
    repeated = readers[readers.duplicated("reader", keep=False)]
    if len(repeated):
        name = repeated["reader"].iloc[0]
        rows = readers.loc[readers["reader"] == name, "row"].tolist()
        raise StudyError(
            f"readers.csv, rows {', '.join(map(str, rows))}: reader {name!r} is listed {len(rows)} times; one row per "
            "invited reader (export readers.csv again from the platform)"
        )
    known = set(readers["reader"])
    for task, table in answers.items():
        if table is None:
            continue
        unknown = table[~table["reader"].isin(known)]
        if len(unknown):
            names = list(dict.fromkeys(unknown["reader"]))
            raise StudyError(
                f"{FILES[task]}, row {unknown['row'].iloc[0]}: reader(s) {', '.join(map(repr, names))} gave "
                f"{len(unknown)} answer row(s) but have no row in readers.csv; export both files from the same study"
            )
    revoked = set(readers.loc[readers["status"] == STATUSES.REVOKED, "reader"])
    unstarted = set(readers.loc[readers["status"] == STATUSES.NOT_STARTED, "reader"])
    notes = [
        f"readers.csv says {name!r} has not started, but {FILES[task]} holds {count} answer row(s) of theirs "
        "(analysed as given)"
        for task, table in answers.items()
        if table is not None
        for name, count in table.loc[table["reader"].isin(unstarted), "reader"].value_counts(sort=False).items()
    ]
    kept = {}
    for task, table in answers.items():
        if table is None:
            kept[task] = None
            continue
        dropped = table[table["reader"].isin(revoked)]
        if len(dropped):
            names = ", ".join(map(repr, dict.fromkeys(dropped["reader"])))
            notes.append(f"{len(dropped)} row(s) of {FILES[task]} from revoked reader(s) {names} were left out")
        kept[task] = table[~table["reader"].isin(revoked)].reset_index(drop=True)
    return kept, notes


def single_reader_sets(rankings: pd.DataFrame) -> list[str]:
    """One note per ranking set that a single reader ranked: no agreement can be measured on it."""
    readers = rankings.groupby(["structure", "set"], sort=False)["reader"].nunique()
    return [
        f"set {set_id!r} of {structure!r} was ranked by a single reader: no agreement (W) is measured on it"
        for (structure, set_id), count in readers.items()
        if count == 1
    ]
