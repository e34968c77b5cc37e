"""Text cells that a spreadsheet will not run as formulas (OWASP "CSV injection"), and the way back to the text."""

from __future__ import annotations

from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP)."""
QUOTE = "'"


def neutralise(value: Any) -> Any:
    """A text cell prefixed with ' when it starts with a formula trigger or with ' itself; other values unchanged.

    OWASP's guidance: spreadsheets show the leading ' as nothing and treat the rest as text. Text that already starts
    with ' is prefixed too, so `restore` is its exact inverse for every string.
    """
    if isinstance(value, str) and value.startswith((*TRIGGERS, QUOTE)):
        return QUOTE + value
    return value


def restore(value: Any) -> Any:
    """The original text of a cell written by `neutralise`: one leading ' removed; other values unchanged."""
    if isinstance(value, str) and value.startswith(QUOTE):
        return value[1:]
    return value


def neutralise_row(row: list) -> list:
    """`neutralise` applied to each cell of one CSV row."""
    return [neutralise(value) for value in row]


def neutralise_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table with every text cell (and column name) neutralised, ready for `to_csv`."""
    safe = table.map(neutralise) if len(table.columns) else table.copy()
    safe.columns = [neutralise(str(column)) for column in table.columns]
    return safe


def restore_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A table read from a neutralised CSV (every cell as text) with the original text back."""
    restored = table.map(restore) if len(table.columns) else table.copy()
    restored.columns = [restore(str(column)) for column in table.columns]
    return restored
