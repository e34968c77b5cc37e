"""A study's results so far: `python -m studies analyze` run on the export tables built from the database."""

from __future__ import annotations

import base64
import io
import math
import tempfile
import zipfile
from dataclasses import dataclass

import pandas as pd

from studies.analysis.design import validate_design
from studies.analysis.endpoints import PLAN_FILE
from studies.analysis.notes import notes
from studies.analysis.results import result_plots, result_tables, write_results
from studies.analysis.summary import analyze
from studies.analysis.tables import validate_pathology
from studies.errors import StudyError
from surveys.exports import COLUMNS, ROWS, frozen_plan, plan_json, write_export
from surveys.models import Study

NO_ANSWERS = "No answers yet: results appear once a reader has answered a task."


@dataclass(frozen=True)
class LiveAnalysis:
    """The analysis of the answers so far (summary.json's content and the notes for review), or why there is none."""

    summary: dict | None = None
    notes: pd.DataFrame | None = None
    problem: str = ""


@dataclass(frozen=True)
class Table:
    """One result table ready for a template: its CSV file name, column names and rows of formatted cells."""

    name: str
    columns: list[str]
    rows: list[list[str]]


def export_table(study: Study, kind: str) -> pd.DataFrame:
    """Export `kind` as a DataFrame, from the same row builder as the CSV download."""
    return pd.DataFrame(list(ROWS[kind](study)), columns=COLUMNS[kind])


def live_analysis(study: Study) -> LiveAnalysis:
    """Analyse the answers so far as the command line would their export with its design.csv and plan.json; an early
    or odd state gives a problem."""
    answers = {kind: export_table(study, kind) for kind in ("rankings", "pathology", "ratings", "discrimination")}
    if all(table.empty for table in answers.values()):
        return LiveAnalysis(problem=NO_ANSWERS)
    given = {kind: None if table.empty else table for kind, table in answers.items()}
    try:
        design = validate_design(export_table(study, "design"))
        pathology = None if given["pathology"] is None else validate_pathology(given["pathology"], design=design)
        summary = analyze(
            given["rankings"],
            pathology,
            export_table(study, "readers"),
            design=design,
            ratings=given["ratings"],
            discrimination=given["discrimination"],
            plan=frozen_plan(study),
        )
    except StudyError as error:
        return LiveAnalysis(problem=f"The answers so far cannot be analysed: {error}")
    return LiveAnalysis(summary, notes(pathology, given["ratings"], given["discrimination"]))


def reader_counts(study: Study) -> dict[str, int]:
    """How many readers were invited, have started and have finished: how far the live numbers have come."""
    readers = study.readers
    return {
        "invited": readers.count(),
        "started": readers.filter(started_at__isnull=False).count(),
        "finished": readers.filter(finished_at__isnull=False).count(),
    }


def page_tables(analysis: LiveAnalysis) -> list[Table]:
    """The non-empty CSV tables of the analysis and the notes for review, each named by its file in the download."""
    tables = result_tables(analysis.summary)
    if analysis.notes is not None:
        tables["notes"] = analysis.notes
    return [
        Table(
            f"{stem}.csv",
            [str(column) for column in table.columns],
            [[_cell(value) for value in row] for row in table.itertuples(index=False)],
        )
        for stem, table in tables.items()
        if not table.empty
    ]


def plot_uris(summary: dict) -> dict[str, str]:
    """The analysis's PNG figures as data: URIs keyed by file name, to embed without a second request."""
    uris = {}
    for name, draw in result_plots(summary).items():
        png = io.BytesIO()
        draw(png)
        uris[name] = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
    return uris


def analysis_zip(study: Study, analysis: LiveAnalysis) -> bytes:
    """A zip of what `write_results` writes (summary.json, tables, report.md, plots) and the exports, design.csv
    included, and plan.json under export/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, tempfile.TemporaryDirectory() as folder:
        for path in write_results(analysis.summary, folder, analysis.notes, study.title):
            archive.write(path, path.name)
        for kind in COLUMNS:
            text = io.StringIO()
            write_export(kind, study, text)
            archive.writestr(f"export/{kind}.csv", text.getvalue())
        archive.writestr(f"export/{PLAN_FILE}", plan_json(study))
    return buffer.getvalue()


def _cell(value: object) -> str:
    """A table cell as text: floats to 4 significant digits, a missing value as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
