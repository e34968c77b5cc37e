"""Split a radiology report into its Findings and Impression sections (paper, section IV-A)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A heading starts a line and ends with a colon ("FINDINGS:", "Impression:"), in any case. Findings and
# Impression open our sections; the report's other parts (technique, recommendation, ...) only close them,
# while organ sub-headings inside Findings ("LUNGS: clear.") are not headings here and stay in the text.
_HEADING = re.compile(r"^[ \t]*(?P<name>[A-Za-z][A-Za-z /&-]{0,40}?)[ \t]*:", re.MULTILINE)
_FINDINGS = {"finding", "findings"}
_IMPRESSION = {"impression", "impressions", "conclusion", "conclusions"}
_OTHER = {
    "addendum",
    "clinical history",
    "clinical indication",
    "clinical information",
    "comparison",
    "comparisons",
    "contrast",
    "dose",
    "exam",
    "examination",
    "history",
    "indication",
    "indications",
    "procedure",
    "reason for exam",
    "recommendation",
    "recommendations",
    "technique",
    "signed by",
    "electronically signed by",
}


@dataclass(frozen=True)
class Sections:
    """The two sections the encoder reads; an absent section is the empty string."""

    findings: str
    impression: str


def parse_report(text: str) -> Sections:
    """Return the report's Findings and Impression, whitespace collapsed; repeated headings are joined."""
    parts: dict[str, list[str]] = {"findings": [], "impression": []}
    headings = [m for m in _HEADING.finditer(text) if _section(m.group("name")) != "text"]
    for heading, following in zip(headings, headings[1:] + [None]):
        section = _section(heading.group("name"))
        if section in parts:
            end = following.start() if following else len(text)
            parts[section].append(_tidy(text[heading.end() : end]))
    return Sections(" ".join(p for p in parts["findings"] if p), " ".join(p for p in parts["impression"] if p))


def segments(text: str) -> tuple[str] | tuple[str, str]:
    """The encoder's input: (Findings, Impression) when both exist, else the one present or the whole text."""
    sections = parse_report(text)
    if sections.findings and sections.impression:
        return sections.findings, sections.impression
    return (sections.findings or sections.impression or _tidy(text),)


def _section(name: str) -> str:
    """What a heading-like "name:" opens: "findings", "impression", "other" (a part we skip) or "text"."""
    key = " ".join(name.lower().split())
    if key in _FINDINGS:
        return "findings"
    if key in _IMPRESSION:
        return "impression"
    return "other" if key in _OTHER else "text"


def _tidy(text: str) -> str:
    """Collapse runs of whitespace (line breaks of the report layout) into single spaces."""
    return " ".join(text.split())
