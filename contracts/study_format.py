"""The bundle format shared by `studies build` (writes it), `studies audit` and the platform's import (read it)."""

from __future__ import annotations

import re

FORMAT = "medsyn-study/1"
"""The `format` of study.json."""

STUDY_FILE = "study.json"
VOLUMES_DIR = "volumes"
MEDIA_DIR = "media"

VIDEO_TYPES = (".mp4", ".webm")
"""Instruction videos the platform serves (the formats every current browser plays)."""

DEFAULT_OPTIONS = (
    "Consolidation",
    "Pleural effusion",
    "Cardiomegaly",
    "No abnormalities",
    "Other abnormality not listed",
)
"""The recognition task's answers when a study names none (the paper's, section V-F)."""

NAME_PATTERN = re.compile(r"[0-9a-f]{24}")
"""A served volume's opaque name: 24 lower-case hex characters, random, saying nothing of id, source or order."""


def slugify(text: str) -> str:
    """Lower-case words joined by hyphens: the study's and the ranking sets' URL-safe names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
