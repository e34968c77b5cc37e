"""The one order of sources in every table, plot and paragraph of the results: the reference first, then the others
alphabetically."""

from __future__ import annotations

from typing import Iterable, TypeVar

DEFAULT_REFERENCE = "real"

Value = TypeVar("Value")


def source_order(sources: Iterable[str], reference: str | None = None) -> list[str]:
    """The distinct sources in the results' one order: the reference (by default "real") first, then the others
    alphabetically (case-insensitive).

    The reference leads because every other source is compared against it, as a paper's figures put the baseline
    first. The rest are sorted by name rather than kept in the design's order: that order is how the volumes happened
    to be listed or named, may differ between structures and between the ranking and recognition tasks, whereas a
    sorted order is the same in every panel, table and paragraph, and lets a reader find a source at a glance.
    """
    distinct = set(sources)
    first = reference if reference is not None else DEFAULT_REFERENCE
    rest = sorted(distinct - {first}, key=lambda source: (source.casefold(), source))
    return ([first] if first in distinct else []) + rest


def by_source_order(values: dict[str, Value], reference: str | None = None) -> dict[str, Value]:
    """A dict keyed by source with its keys in `source_order`."""
    return {source: values[source] for source in source_order(values, reference)}


def in_pair_order(pairs: list[dict], order: list[str]) -> list[dict]:
    """Pairs of sources (dicts with "a" and "b") sorted by where their sources stand in `order`: the reference's
    pairs first, as in a table of every pair."""
    position = {source: index for index, source in enumerate(order)}
    return sorted(pairs, key=lambda pair: sorted((position[pair["a"]], position[pair["b"]])))
