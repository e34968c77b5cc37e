"""Counts in words: "1 reader", "2 readers", so that no report prints "1 readers"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number it takes (plural: `noun + "s"` unless given)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
