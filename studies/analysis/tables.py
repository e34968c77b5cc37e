"""Read and validate the export tables (DESIGN.md, Exports) so every later step can trust them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from studies.errors import StudyError

RANKING_COLUMNS = ("reader", "structure", "set", "source", "rank")
PATHOLOGY_COLUMNS = ("reader", "volume", "source", "truth", "answer")
READER_COLUMNS = ("reader", "years_experience", "level", "minutes")
LEVELS = ("resident", "junior", "senior", "faculty")


def read_table(path: str | Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read one export CSV as text, refusing an empty file or a missing column; `row` holds the file's line number."""
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"{path}: no such file")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise StudyError(f"{path}: the file is empty (expected a header row and one row per answer)") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise StudyError(f"{path}: not a readable UTF-8 CSV file ({error})") from None
    table.columns = [str(column).strip() for column in table.columns]
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise StudyError(f"{path}: missing column(s) {', '.join(missing)} (header has: {', '.join(table.columns)})")
    if table.empty:
        raise StudyError(f"{path}: the file has a header but no rows")
    table.insert(0, "row", range(2, len(table) + 2))
    return table


def validate_rankings(table: pd.DataFrame, name: str = "rankings.csv") -> pd.DataFrame:
    """Check ranks are whole numbers 1..k, unique within a ranking, one scan per source; return with integer ranks.

    k is the number of sources ranked for the structure; `row` (the file's line) names each problem.
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
    for structure, rows in table.groupby("structure", sort=False):
        sources = rows["source"].unique()
        if len(sources) < 2:
            raise StudyError(
                f"{name}: structure {structure!r} has a single source ({sources[0]}); a ranking needs at least two"
            )
        k = len(sources)
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


def validate_pathology(table: pd.DataFrame, name: str = "pathology.csv") -> pd.DataFrame:
    """Check the recognition answers; `correct` is recomputed as answer == truth (case-insensitive), `note` kept."""
    table = _with_rows(table)
    missing = [column for column in PATHOLOGY_COLUMNS if column not in table.columns]
    if missing:
        raise StudyError(f"{name}: missing column(s) {', '.join(missing)}")
    if table.empty:
        raise StudyError(f"{name}: no answers")
    table = table.copy()
    for column in (*PATHOLOGY_COLUMNS, "note"):
        table[column] = _text(table[column]) if column in table.columns else ""
    for column in ("reader", "volume", "truth"):
        for _, bad in table[table[column] == ""].head(1).iterrows():
            raise StudyError(f"{name}, row {bad['row']}: empty {column}")
    repeated = table[table.duplicated(["reader", "volume"], keep="first")]
    for _, bad in repeated.head(1).iterrows():
        raise StudyError(f"{name}, row {bad['row']}: {bad['reader']} answered volume {bad['volume']!r} twice")
    table["correct"] = table["answer"].str.casefold() == table["truth"].str.casefold()
    return table


def validate_readers(table: pd.DataFrame, name: str = "readers.csv") -> pd.DataFrame:
    """Check the reader table: numeric experience and minutes where given, a known level; blanks become missing."""
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
    if "finished" not in table.columns:
        table["finished"] = ""
    table["finished"] = _text(table["finished"])
    return table


def _text(column: pd.Series) -> pd.Series:
    """Cells as stripped text; missing values (None, NaN, NaT from a database query) become ""."""
    return column.map(lambda value: "" if pd.isna(value) else str(value).strip())


def _with_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Give a table from memory (not from a file) a `row` column counting like a CSV's lines."""
    if "row" in table.columns:
        return table
    return table.assign(row=range(2, len(table) + 2))


def read_rankings(path: str | Path) -> pd.DataFrame:
    """Read and validate rankings.csv."""
    return validate_rankings(read_table(path, RANKING_COLUMNS), str(path))


def read_pathology(path: str | Path) -> pd.DataFrame:
    """Read and validate pathology.csv."""
    return validate_pathology(read_table(path, PATHOLOGY_COLUMNS), str(path))


def read_readers(path: str | Path) -> pd.DataFrame:
    """Read and validate readers.csv."""
    return validate_readers(read_table(path, READER_COLUMNS), str(path))
