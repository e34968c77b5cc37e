"""Collect the reports that pre-train the encoder: case folders' report.txt and loose .txt reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.text.errors import TextError
from generator.text.sections import Sections, parse_report

MIN_REPORTS = 10  # enough for a held-out split with both paired and swapped examples


@dataclass(frozen=True)
class Corpus:
    """Reports with both sections (what the paired-section task needs), and the files left out."""

    names: list[str]  # file paths relative to the data folder, e.g. "case-0001/report.txt"
    sections: list[Sections]
    skipped: list[str]  # files lacking a Findings or an Impression section


def read_corpus(data: Path) -> Corpus:
    """Read every *.txt file under `data` (recursively, sorted) as one report; see `Corpus` for what is kept."""
    if not data.is_dir():
        raise TextError(f"{data}: not a folder (expected case folders with report.txt, or .txt reports)")
    files = sorted(p for p in data.rglob("*.txt") if p.is_file())
    if not files:
        raise TextError(f"{data}: no reports found (expected case folders with report.txt, or .txt reports)")
    names, sections, skipped = [], [], []
    for path in files:
        name = path.relative_to(data).as_posix()
        parsed = parse_report(_read(path))
        if parsed.findings and parsed.impression:
            names.append(name)
            sections.append(parsed)
        else:
            skipped.append(name)
    if len(sections) < MIN_REPORTS:
        raise TextError(
            f"{data}: {len(sections)} of {len(files)} reports have both a FINDINGS: and an "
            f"IMPRESSION: section; pre-training needs at least {MIN_REPORTS}"
        )
    return Corpus(names, sections, skipped)


def _read(path: Path) -> str:
    """A report's text, or a TextError naming the file when it is not UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise TextError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise TextError(f"{path}: cannot be read ({error.strerror})") from None
