"""Per-reader task order: the randomised design of the paper's section V-F, reproducible and position-balanced.

Every shuffle (recognition items, structure order, set order within a structure, scan order within a set)
is drawn as a random permutation for each *block* of k consecutive readers (k = number of items) and rotated
by the reader's place in that block. Each reader's order is therefore a uniformly random permutation, and
within every block of k readers each item takes each position exactly once, so positions stay balanced
over any number of readers instead of only on average.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Sequence, TypeVar

T = TypeVar("T")


def _rng(seed: int, purpose: str, block: int) -> random.Random:
    """A generator seeded from (study seed, what is shuffled, reader block) via SHA-256, so Python's hash seed never
    matters.
    """
    digest = hashlib.sha256(f"{seed}\x1f{purpose}\x1f{block}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def balanced_order(items: Sequence[T], seed: int, purpose: str, reader_index: int) -> list[T]:
    """Reader `reader_index`'s order of `items`: a seeded permutation per block of len(items) readers, rotated within
    the block.
    """
    k = len(items)
    if k < 2:
        return list(items)
    block, offset = divmod(reader_index, k)
    order = list(items)
    _rng(seed, purpose, block).shuffle(order)
    return order[offset:] + order[:offset]


def reader_plan(study: dict[str, Any], reader_index: int) -> list[dict[str, Any]]:
    """The ordered task list of reader `reader_index` (0-based) for a parsed study.json.

    Order: rating tasks placed "first"; the single-scan tasks (recognition, with rating and discrimination tasks
    placed "shuffled") in one balanced order; ranking; rating tasks placed "last"; discrimination tasks placed "last"
    (the default: they tell readers that some scans are synthetic, which no earlier task may suggest).
    """
    if reader_index < 0:
        raise ValueError(f"reader_index must be 0 or more, not {reader_index}")
    seed = int(study["seed"])
    recognition = [("recognition", name) for name in (study.get("recognition") or {}).get("volumes", [])]
    placed: dict[str, list[tuple[str, str]]] = {"first": [], "shuffled": recognition, "last": []}
    for kind in ("rating", "discrimination"):
        task = study.get(kind)
        if task:
            placed[task["position"]] = placed[task["position"]] + [(kind, name) for name in task["volumes"]]
    # A recognition-only block keeps the purpose it always had, so existing studies' plans stay as they were.
    single_purpose = "recognition" if placed["shuffled"] == recognition else "single-scan"
    plan = _single(balanced_order(placed["first"], seed, "first", reader_index))
    plan += _single(balanced_order(placed["shuffled"], seed, single_purpose, reader_index))
    structures = balanced_order(study.get("ranking") or [], seed, "structures", reader_index)
    for entry in structures:
        structure = entry["structure"]
        for ranking_set in balanced_order(entry["sets"], seed, f"sets\x1f{structure}", reader_index):
            volumes = balanced_order(
                ranking_set["volumes"], seed, f"scans\x1f{structure}\x1f{ranking_set['set']}", reader_index
            )
            plan.append({"kind": "ranking", "structure": structure, "set": ranking_set["set"], "volumes": volumes})
    last = placed["last"]
    plan += _single(balanced_order([t for t in last if t[0] == "rating"], seed, "last", reader_index))
    plan += _single(balanced_order([t for t in last if t[0] == "discrimination"], seed, "discrimination", reader_index))
    return plan


def _single(tasks: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"kind": kind, "volume": volume} for kind, volume in tasks]
