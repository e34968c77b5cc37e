"""PAIRS.toml of a prompt experiment: [[pair]] tables of `name` (letters, digits, '-', '_'), `measure` (one of
`metrics.anatomy.EXPERIMENT_MEASURES`), `positive` (a prompt expected to raise the measure, "There are large pleural
effusions.") and `negative` ("There is no pleural effusion.")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from generator.metrics.anatomy import EXPERIMENT_MEASURES
from generator.prompt_files import read_prompt_file

PAIR_KEYS = {"name", "measure", "positive", "negative"}
NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class PromptPair:
    """One [[pair]] of PAIRS.toml: the measure and the prompts expected to raise it (positive) or not (negative)."""

    name: str
    measure: str
    positive: str
    negative: str


def read_pairs(path: Path) -> list[PromptPair]:
    """The checked [[pair]] tables of a PAIRS.toml; PromptFileError names the file and key of any problem."""
    file = read_prompt_file(path)
    file.known_keys(file.raw, {"pair"}, "top level")
    tables = file.tables("pair")
    if not tables:
        raise file.fail("[[pair]]", "no pairs: add [[pair]] tables with name, measure, positive and negative")
    pairs: list[PromptPair] = []
    for number, table in enumerate(tables, start=1):
        where = f"[[pair]] #{number}"
        file.known_keys(table, PAIR_KEYS, where)
        name = file.text(table, "name", where)
        where = f"[[pair]] {name!r}"
        if not NAME.fullmatch(name):
            raise file.fail(where, "'name' may hold only letters, digits, '-' and '_' (it names files)")
        if any(pair.name == name for pair in pairs):
            raise file.fail(where, "duplicate name (each [[pair]] needs its own name)")
        metric = file.text(table, "measure", where)
        if metric not in EXPERIMENT_MEASURES:
            raise file.fail(where, f"unknown measure {metric!r} (one of {', '.join(EXPERIMENT_MEASURES)})")
        pairs.append(PromptPair(name, metric, file.text(table, "positive", where), file.text(table, "negative", where)))
    return pairs
