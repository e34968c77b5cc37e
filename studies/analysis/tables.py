"""Read and validate the export tables (docs/architecture.md, Exports) so every later step can trust them."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from studies.analysis.design import (
    DESIGN_COLUMNS,
    TRUTHS,
    Design,
    check_pathology,
    check_rankings,
    check_task,
    validate_design,
)
from studies.analysis.spreadsheet import restore_frame
from studies.errors import StudyError

RANKING_COLUMNS = ("reader", "structure", "set", "source", "rank")
PATHOLOGY_COLUMNS = ("reader", "volume", "source", "truth", "answer")
RATING_COLUMNS = ("reader", "volume", "source", "scale", "score")
DISCRIMINATION_COLUMNS = ("reader", "volume", "source", "truth", "answer", "confidence", "correct")
SCALES = (2, 10)
"""The fewest and most points of a rating scale."""
CONFIDENCE = (1, 5)
"""The lowest and highest confidence of a discrimination answer."""
READER_COLUMNS = ("reader", "years_experience", "level", "minutes")
LEVELS = ("resident", "junior", "senior", "faculty")
STATUSES = SimpleNamespace(FINISHED="finished", STARTED="started", NOT_STARTED="not started", REVOKED="revoked")
"""The `status` column of readers.csv: where each invited reader stands."""


def read_table(path: str | Path, required: tuple[str, ...], allow_empty: bool = False) -> pd.DataFrame:
    """Read one export CSV as text, refusing an empty file or a missing column; `row` holds the file's line number.

    Text cells neutralised against spreadsheet formulas by the export are read back as the original text. A file
    with a header but no rows is refused unless `allow_empty` (exports written before anyone answered).
    """
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"{path}: no such file")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise StudyError(f"{path}: the file is empty (expected a header row and one row per answer)") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise StudyError(f"{path}: not a readable UTF-8 CSV file ({error})") from None
    table = restore_frame(table)
    table.columns = [str(column).strip() for column in table.columns]
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise StudyError(f"{path}: missing column(s) {', '.join(missing)} (header has: {', '.join(table.columns)})")
    if table.empty and not allow_empty:
        raise StudyError(f"{path}: the file has a header but no rows")
    table.insert(0, "row", range(2, len(table) + 2))
    return table


def validate_rankings(table: pd.DataFrame, name: str = "rankings.csv", design: Design | None = None) -> pd.DataFrame:
    """Check ranks are whole numbers 1..k, unique within a ranking, one scan per source; return with integer ranks.

    With a design, every row must fit it (`check_rankings`) and k is the number of sources the design gives the
    structure; without one, k is the number of sources its sets have in common, and every set must name exactly
    those (see `_check_sets`). `row` (the file's line) names each problem; `seconds`, where present, must be a
    non-negative number (blank: not recorded).
    """
    table = _with_rows(table)
    missing = [column for column in RANKING_COLUMNS if column not in table.columns]
    if missing:
        raise StudyError(f"{name}: missing column(s) {', '.join(missing)}")
    if table.empty:
        raise StudyError(f"{name}: no rankings")
    table = table.copy()
    for column in ("reader", "structure", "set", "source"):
        table[column] = _text(table[column])
        for _, bad in table[table[column] == ""].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: empty {column}")
    ranks = pd.to_numeric(table["rank"], errors="coerce")
    not_whole = ranks.isna() | (ranks != ranks.round())
    for _, bad in table[not_whole].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: rank {bad['rank']!r} is not a whole number")
    table["rank"] = ranks.astype(int)
    _check_seconds(table, name)
    _check_case(table, "source", name)
    if design is not None:
        check_rankings(table, design, name)
    for structure, rows in table.groupby("structure", sort=False):
        ranked = design.sources()[structure] if design is not None else _check_sets(rows, structure, name)
        if len(ranked) < 2:
            raise StudyError(
                f"{name}: structure {structure!r} has a single source ({ranked[0]}); a ranking needs at least two"
            )
        k = len(ranked)
        for _, bad in rows[(rows["rank"] < 1) | (rows["rank"] > k)].head(1).iterrows():
            raise StudyError(
                f"{name}, row {bad['row']}: rank {bad['rank']} is outside 1..{k} "
                f"({k} sources are ranked for {structure!r})"
            )
    block = ["reader", "structure", "set"]
    for column, what in (("rank", "rank"), ("source", "source")):
        repeated = table[table.duplicated(block + [column], keep="first")]
        for _, bad in repeated.head(1).iterrows():
            first = table[(table[block + [column]] == bad[block + [column]]).all(axis=1)]["row"].iloc[0]
            raise StudyError(
                f"{name}, row {bad['row']}: {what} {bad[column]!r} is repeated in {bad['reader']}'s ranking "
                f"of set {bad['set']!r} (first at row {first})"
            )
    return table


def structure_sources(rankings: pd.DataFrame) -> dict[str, list[str]]:
    """The sources ranked for each structure of validated rankings, in order of first appearance."""
    return {structure: list(rows["source"].unique()) for structure, rows in rankings.groupby("structure", sort=False)}


def _check_sets(rows: pd.DataFrame, structure: str, name: str) -> list[str]:
    """Without a design, every set of a structure must name the same sources: refuse a set that names a source the
    others do not (naming the set and its rows), or that lacks a source all the others name; return the sources."""
    per_set = rows.groupby("set", sort=False)["source"].agg(lambda s: set(s))
    everywhere = set.intersection(*per_set)
    for source in dict.fromkeys(rows["source"]):
        if source in everywhere:
            continue
        having = [set_id for set_id, names in per_set.items() if source in names]
        lacking = [set_id for set_id, names in per_set.items() if source not in names]
        if len(having) <= len(lacking):
            where = rows[rows["set"].isin(having) & (rows["source"] == source)]["row"]
            raise StudyError(
                f"{name}, row(s) {_list(where)}: set(s) {_list(having)} of structure {structure!r} name source "
                f"{source!r}, which set(s) {_list(lacking)} do not; every set of a structure must rank the same "
                "sources (give the study's design with --design to check the answers against it)"
            )
        raise StudyError(
            f"{name}: set(s) {_list(lacking)} of structure {structure!r} lack source {source!r}, which set(s) "
            f"{_list(having)} rank; every set of a structure must rank the same sources (give the study's design "
            "with --design to check the answers against it)"
        )
    return list(dict.fromkeys(rows["source"]))


def _check_seconds(table: pd.DataFrame, name: str) -> None:
    """Turn a `seconds` column into floats (blank: not recorded), refusing text, infinities and negative times."""
    if "seconds" not in table.columns:
        return
    text = _text(table["seconds"])
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (values.isna() & (text != "")) | values.map(lambda v: not pd.isna(v) and not math.isfinite(v))
    for _, row in table[bad].head(1).iterrows():
        raise StudyError(f"{name}, row {row['row']}: seconds {row['seconds']!r} is not a number")
    for _, row in table[values < 0].head(1).iterrows():
        raise StudyError(f"{name}, row {row['row']}: seconds {row['seconds']!r} is negative")
    table["seconds"] = values.astype(float)


def _check_case(table: pd.DataFrame, column: str, name: str) -> None:
    """Refuse two spellings of one name that differ only in case (`MedSyn` beside `medsyn`), naming the rarer's row."""
    for _, spellings in table.groupby(table[column].str.casefold(), sort=False)[column]:
        counts = spellings.value_counts()
        if len(counts) > 1:
            rare = counts.index[-1]
            row = table.loc[spellings.index[spellings == rare][0], "row"]
            raise StudyError(
                f"{name}, row {row}: {column} {rare!r} differs only in case from {counts.index[0]!r}; "
                "names are case-sensitive, spell it one way"
            )


def _list(values) -> str:
    """Distinct values in order, comma-separated, at most ten then a count."""
    values = [str(v) for v in dict.fromkeys(values)]
    return ", ".join(values[:10]) + (f" and {len(values) - 10} more" if len(values) > 10 else "")


def validate_pathology(table: pd.DataFrame, name: str = "pathology.csv", design: Design | None = None) -> pd.DataFrame:
    """Check the recognition answers (against the design when given); `correct` is recomputed as answer == truth
    (case-insensitive), `note` kept."""
    table = _with_rows(table)
    missing = [column for column in PATHOLOGY_COLUMNS if column not in table.columns]
    if missing:
        raise StudyError(f"{name}: missing column(s) {', '.join(missing)}")
    if table.empty:
        raise StudyError(f"{name}: no answers")
    table = table.copy()
    for column in (*PATHOLOGY_COLUMNS, "note"):
        table[column] = _text(table[column]) if column in table.columns else ""
    for column in ("reader", "volume", "source", "truth"):
        for _, bad in table[table[column] == ""].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: empty {column}")
    _check_seconds(table, name)
    _check_case(table, "source", name)
    if design is not None:
        check_pathology(table, design, name)
    repeated = table[table.duplicated(["reader", "volume"], keep="first")]
    for _, bad in repeated.head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: {bad['reader']} answered volume {bad['volume']!r} twice")
    table["correct"] = table["answer"].str.casefold() == table["truth"].str.casefold()
    return table


def validate_ratings(table: pd.DataFrame, name: str = "ratings.csv", design: Design | None = None) -> pd.DataFrame:
    """Check the realism ratings (against the design when given): one scale of 2–10 points for the whole file, whole
    scores within it, one rating per reader and volume; return with integer scale and score. No rows: no answers yet.
    """
    table = _one_scan_answers(table, RATING_COLUMNS, name)
    table["scale"], table["score"] = _whole(table, "scale", name), _whole(table, "score", name)
    low, high = SCALES
    for _, bad in table[(table["scale"] < low) | (table["scale"] > high)].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: scale {bad['scale']} is outside {low}..{high} points")
    if len(table):
        first = table.iloc[0]
        for _, bad in table[table["scale"] != first["scale"]].head(1).iterrows():
            raise StudyError(
                f"{name}, row {bad['row']}: scale {bad['scale']} differs from the {first['scale']} points of row "
                f"{first['row']}; one study has one rating scale"
            )
    for _, bad in table[(table["score"] < 1) | (table["score"] > table["scale"])].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: score {bad['score']} is outside 1..{bad['scale']} (the scale)")
    _orient_scores(table, name)
    if design is not None:
        check_task(table, design, "rating", ("source",), name)
    _check_volumes(table, ("source",), name)
    _check_repeats(table, name)
    return table


def _orient_scores(table: pd.DataFrame, name: str) -> None:
    """With the export's `higher_is_more_realistic` column: refuse rows that contradict each other, and turn a scale
    whose top meant least realistic into one where it means most (score → scale + 1 − score, `reversed` true), so
    every summary reads 1 = least realistic."""
    if "higher_is_more_realistic" not in table.columns or table.empty:
        return
    flags = _text(table["higher_is_more_realistic"]).str.lower()
    for _, bad in table[~flags.isin(("true", "false"))].head(1).iterrows():
        raise StudyError(
            f"{name}, row {bad['row']}: higher_is_more_realistic {bad['higher_is_more_realistic']!r} is not true or "
            "false"
        )
    if flags.nunique() > 1:
        first, other = table.iloc[0], table[flags != flags.iloc[0]].iloc[0]
        raise StudyError(
            f"{name}, row {other['row']}: higher_is_more_realistic is {flags[other.name]} but {flags.iloc[0]} at row "
            f"{first['row']}; one scale cannot point both ways (export the ratings of one study again)"
        )
    if flags.iloc[0] == "false":
        table["score"] = table["scale"] + 1 - table["score"]
        table["reversed"] = True
    table["higher_is_more_realistic"] = "true"


def validate_discrimination(
    table: pd.DataFrame, name: str = "discrimination.csv", design: Design | None = None
) -> pd.DataFrame:
    """Check the real-or-synthetic answers (against the design when given): truth and answer real or synthetic,
    confidence a whole 1–5, `correct` (True/False) equal to answer == truth, one answer per reader and volume;
    return with lower-case truth and answer, integer confidence and boolean correct. No rows: no answers yet."""
    table = _one_scan_answers(table, DISCRIMINATION_COLUMNS, name)
    for column in ("truth", "answer"):
        table[column] = table[column].str.lower()
        for _, bad in table[~table[column].isin(TRUTHS)].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: {column} {bad[column]!r} is not one of {', '.join(TRUTHS)}")
    table["confidence"] = _whole(table, "confidence", name)
    low, high = CONFIDENCE
    for _, bad in table[(table["confidence"] < low) | (table["confidence"] > high)].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: confidence {bad['confidence']} is outside {low}..{high}")
    flags = table["correct"].str.lower()
    for _, bad in table[~flags.isin(("true", "false"))].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: correct {bad['correct']!r} is not True or False")
    table["correct"] = flags == "true"
    for _, bad in table[table["correct"] != (table["answer"] == table["truth"])].head(1).iterrows():
        raise StudyError(
            f"{name}, row {bad['row']}: correct is {bad['correct']} but the answer {bad['answer']!r} and the truth "
            f"{bad['truth']!r} {'differ' if bad['correct'] else 'agree'}"
        )
    if design is not None:
        check_task(table, design, "discrimination", ("source", "truth"), name)
    _check_volumes(table, ("source", "truth"), name)
    _check_repeats(table, name)
    return table


def _one_scan_answers(table: pd.DataFrame, columns: tuple[str, ...], name: str) -> pd.DataFrame:
    """The shared checks of a one-scan task's answers: the columns present, text cells stripped (`note` kept, ""
    where absent), no empty cell, times and source spellings valid."""
    table = _with_rows(table)
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise StudyError(f"{name}: missing column(s) {', '.join(missing)}")
    table = table.copy()
    for column in (*columns, "note"):
        table[column] = _text(table[column]) if column in table.columns else ""
    for column in columns:
        for _, bad in table[table[column] == ""].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: empty {column}")
    _check_seconds(table, name)
    _check_case(table, "source", name)
    return table


def _whole(table: pd.DataFrame, column: str, name: str) -> pd.Series:
    """A column of whole numbers as integers, refusing anything else with its row."""
    values = pd.to_numeric(table[column], errors="coerce")
    for _, bad in table[values.isna() | (values != values.round())].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: {column} {bad[column]!r} is not a whole number")
    return values.astype(int)


def _check_volumes(table: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    """Refuse a volume given another source (or truth) on a later row than on its first, naming both rows."""
    first = table.drop_duplicates("volume").set_index("volume")
    for column in columns:
        expected = table["volume"].map(first[column])
        for _, bad in table[table[column] != expected].head(1).iterrows():
            raise StudyError(
                f"{name}, row {bad['row']}: volume {bad['volume']!r} has {column} {bad[column]!r}, but "
                f"{first.loc[bad['volume'], column]!r} at row {first.loc[bad['volume'], 'row']}"
            )


def _check_repeats(table: pd.DataFrame, name: str) -> None:
    """Refuse a second answer of one reader to one volume, naming both rows."""
    repeated = table[table.duplicated(["reader", "volume"], keep="first")]
    for _, bad in repeated.head(1).iterrows():
        first = table[(table["reader"] == bad["reader"]) & (table["volume"] == bad["volume"])]["row"].iloc[0]
        raise StudyError(
            f"{name}, row {bad['row']}: {bad['reader']} answered volume {bad['volume']!r} twice (first at row {first})"
        )


def validate_readers(table: pd.DataFrame, name: str = "readers.csv") -> pd.DataFrame:
    """Check the reader table: numeric experience and minutes where given, a known level; blanks become missing.

    `status` (finished, started, not started, revoked) is checked where present; older files without it get it
    from `finished` and `started` (a file without `started` counts every reader as having started, as before).
    """
    table = _with_rows(table)
    missing = [column for column in READER_COLUMNS if column not in table.columns]
    if missing:
        raise StudyError(f"{name}: missing column(s) {', '.join(missing)}")
    table = table.copy()
    for column in ("years_experience", "minutes"):
        text = _text(table[column])
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        for _, bad in table[values.isna() & (text != "")].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: {column} {bad[column]!r} is not a number")
        for _, bad in table[values < 0].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: {column} {bad[column]!r} is negative")
        table[column] = values
    table["level"] = _text(table["level"]).str.lower()
    for _, bad in table[~table["level"].isin(("", *LEVELS))].head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: level {bad['level']!r} is not one of {', '.join(LEVELS)}")
    has_started = "started" in table.columns
    for column in ("finished", "started"):
        table[column] = _text(table[column]) if column in table.columns else ""
    if "status" in table.columns:
        table["status"] = _text(table["status"]).str.lower()
        known = tuple(vars(STATUSES).values())
        for _, bad in table[~table["status"].isin(known)].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: status {bad['status']!r} is not one of {', '.join(known)}")
    else:
        started = (table["started"] != "") if has_started else pd.Series(True, index=table.index)
        table["status"] = STATUSES.NOT_STARTED
        table.loc[started, "status"] = STATUSES.STARTED
        table.loc[table["finished"] != "", "status"] = STATUSES.FINISHED
    return table


def check_reader_ids(answers: pd.DataFrame, readers: pd.DataFrame, name: str, readers_name: str) -> None:
    """Refuse answer rows whose reader id matches a readers.csv id only up to case (`Alice` beside `alice`)."""
    known = set(readers["reader"])
    folded = {reader.casefold(): reader for reader in known}
    for row in answers.itertuples(index=False):
        if row.reader not in known and row.reader.casefold() in folded:
            raise StudyError(
                f"{name}, row {row.row}: reader {row.reader!r} is {folded[row.reader.casefold()]!r} in {readers_name}; "
                "reader ids are case-sensitive, export both files from the same study"
            )


def _text(column: pd.Series) -> pd.Series:
    """Cells as stripped text (also of an empty column of another type); missing values (None, NaN, NaT from a
    database query) become ""."""
    return column.map(lambda value: "" if pd.isna(value) else str(value).strip()).astype(str)


def _with_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Give a table from memory (not from a file) a `row` column counting like a CSV's lines."""
    if "row" in table.columns:
        return table
    return table.assign(row=range(2, len(table) + 2))


def read_rankings(path: str | Path, design: Design | None = None) -> pd.DataFrame:
    """Read and validate rankings.csv (against the design when given)."""
    return validate_rankings(read_table(path, RANKING_COLUMNS), str(path), design)


def read_pathology(path: str | Path, design: Design | None = None) -> pd.DataFrame:
    """Read and validate pathology.csv (against the design when given)."""
    return validate_pathology(read_table(path, PATHOLOGY_COLUMNS), str(path), design)


def read_ratings(path: str | Path, design: Design | None = None) -> pd.DataFrame:
    """Read and validate ratings.csv (against the design when given); a header-only file gives no rows."""
    return validate_ratings(read_table(path, RATING_COLUMNS, allow_empty=True), str(path), design)


def read_discrimination(path: str | Path, design: Design | None = None) -> pd.DataFrame:
    """Read and validate discrimination.csv (against the design when given); a header-only file gives no rows."""
    return validate_discrimination(read_table(path, DISCRIMINATION_COLUMNS, allow_empty=True), str(path), design)


def read_design(path: str | Path) -> Design:
    """Read and validate design.csv."""
    return validate_design(read_table(path, DESIGN_COLUMNS), str(path))


def read_readers(path: str | Path) -> pd.DataFrame:
    """Read and validate readers.csv."""
    return validate_readers(read_table(path, READER_COLUMNS), str(path))
