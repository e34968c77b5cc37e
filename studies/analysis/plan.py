"""The analysis plan: what a study promises before its first answer (primary endpoint per task, α, correction,
sidedness, reference, secondary endpoints, interim looks), checked and filled with the documented defaults.

One plan has the same shape wherever it is: the `[analysis]` tables of the manifest, `analysis` in study.json, the
platform's frozen copy and the export's plan.json. `resolve_plan` turns the researcher's tables into the resolved plan
(every task's entry complete) and is a fixpoint on a resolved plan, so every reader of it checks it the same way.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

DEFAULT_ALPHA = 0.05
"""The documented significance level of every test the report judges, unless the plan says otherwise."""

TESTS: dict[str, dict[str, tuple[str, ...]]] = {
    "ranking": {"crossed": ("crossed",), "friedman": ("friedman",), "scan-level": ("scan_level",)},
    "recognition": {"accuracy": ()},
    "rating": {"crossed": ("comparison", "crossed"), "scan-level": ("comparison",)},
    "discrimination": {"auc": (), "accuracy": ()},
}
"""The tests the report knows per task, and where each one's result (its `p`) sits in summary.json: under each
structure's entry for ranking, under the task's entry otherwise; () for an estimate judged by its interval (accuracy)
or a p at the task's top (`auc_p`). A new test is one more entry here and one in `endpoints.P_KEYS` if its p is not
`p`."""
DEFAULT_PRIMARY = {"ranking": "crossed", "recognition": "accuracy", "rating": "crossed", "discrimination": "auc"}
DIRECTIONAL = {"auc"}
"""Tests with a direction a one-sided plan can name (AUC above 0.5: readers tell synthetic from real)."""
CORRECTIONS = ("bonferroni", "holm", "none")
FAMILIES = ("structure", "all")
SIDES = ("two-sided", "one-sided")
SPENDING = ("obrien-fleming",)
"""Alpha-spending functions of interim looks: Lan–DeMets with O'Brien–Fleming-like boundaries."""
SHARED_KEYS = ("alpha", "correction", "family", "sided", "reference", "interim")
TASK_KEYS = {"primary", "secondary", *SHARED_KEYS}
TOP_KEYS = {"rationale", "written", *TASK_KEYS, *TESTS}
INTERIM_KEYS = {"looks", "spending", "readers"}
DEFAULTS = {
    "alpha": DEFAULT_ALPHA,
    "correction": "bonferroni",
    "family": "structure",
    "sided": "two-sided",
    "reference": None,
    "interim": False,
}
"""What a plan that says nothing promises (the reference: "real" where the study has that source)."""

Fail = Callable[[str, str], Exception]
"""Builds the error for (where, problem): the manifest's checker, or a plain StudyError naming plan.json."""


def resolve_plan(
    raw: dict[str, Any] | None, tasks: tuple[str, ...], sources: set[str] | None, fail: Fail
) -> dict[str, Any]:
    """The resolved plan of a study with these tasks and sources from the researcher's `[analysis]` table (None:
    no plan written, the documented defaults); every problem raises `fail(where, problem)` naming the key.
    sources None: not known here (plan.json read without a design), the reference is not checked against them."""
    written = raw is not None
    raw = dict(raw or {})
    _known(raw, TOP_KEYS, "[analysis]", fail)
    for task in TESTS:
        if task in raw and task not in tasks:
            raise fail(f"[analysis.{task}]", f"the study has no {task} task (its tasks: {', '.join(tasks) or 'none'})")
    reference = "real" if "real" in (sources or ()) else None
    top = _shared(raw, {**DEFAULTS, "reference": reference}, "[analysis]", sources, fail)
    rationale = raw.get("rationale", "")
    if not isinstance(rationale, str):
        raise fail("[analysis]", f"'rationale' must be text, not {rationale!r}")
    if "primary" in raw and not any(raw["primary"] in TESTS[task] for task in tasks):
        known = sorted({test for task in tasks for test in TESTS[task]})
        raise fail("[analysis]", f"'primary' {raw['primary']!r} is no test of this study's tasks ({', '.join(known)})")
    plan: dict[str, Any] = {"written": bool(raw.get("written", written)), "rationale": rationale.strip(), **top}
    for task in tasks:
        table = raw.get(task, {})
        where = f"[analysis.{task}]"
        if not isinstance(table, dict):
            raise fail(where, "must be a table")
        _known(table, TASK_KEYS, where, fail)
        entry = _shared(table, top, where, sources, fail)
        inherited = raw.get("primary") if raw.get("primary") in TESTS[task] else DEFAULT_PRIMARY[task]
        entry["primary"] = _choice(table, "primary", where, tuple(TESTS[task]), inherited, fail)
        secondary = table.get("secondary", [s for s in raw.get("secondary", []) if s in TESTS[task]])
        if not isinstance(secondary, list) or not all(s in TESTS[task] for s in secondary):
            raise fail(
                where, f"'secondary' must be a list of tests of {task} ({', '.join(TESTS[task])}), not {secondary!r}"
            )
        entry["secondary"] = [s for s in dict.fromkeys(secondary) if s != entry["primary"]]
        if entry["sided"] == "one-sided" and entry["primary"] not in DIRECTIONAL:
            raise fail(
                where,
                f"'sided' = 'one-sided' needs a primary test with a direction ({', '.join(sorted(DIRECTIONAL))}); "
                f"{entry['primary']!r} compares several sources at once and is two-sided by construction",
            )
        plan[task] = {key: entry[key] for key in ("primary", "secondary", *SHARED_KEYS)}
    looks = {json.dumps(plan[task]["interim"], sort_keys=True) for task in tasks if plan[task]["interim"]}
    if len(looks) > 1:
        raise fail(
            "[analysis]",
            "interim looks are the study's, not a task's: give the same looks, spending and readers in every task "
            "(once, in [analysis.interim]); a task may say interim = false",
        )
    return plan


def plan_digest(plan: dict[str, Any]) -> str:
    """SHA-256 of the plan's canonical JSON (sorted keys, no spaces): what freezing it records."""
    return hashlib.sha256(canonical(plan).encode("utf-8")).hexdigest()


def canonical(plan: dict[str, Any]) -> str:
    """The plan as canonical JSON text."""
    return json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def interim_of(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The study's interim looks ({looks, spending, readers}), or None when no task allows them."""
    for task in TESTS:
        if (plan.get(task) or {}).get("interim"):
            return plan[task]["interim"]
    return None


def _shared(
    table: dict[str, Any], defaults: dict[str, Any], where: str, sources: set[str] | None, fail: Fail
) -> dict[str, Any]:
    """alpha, correction, family, sided, reference and interim of one table, each falling back to `defaults`."""
    alpha = table.get("alpha", defaults["alpha"])
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha < 0.5:
        raise fail(where, f"'alpha' must be a number between 0 and 0.5 (e.g. 0.05), not {alpha!r}")
    reference = table.get("reference", defaults["reference"])
    if reference is not None and sources is not None and reference not in sources:
        raise fail(where, f"'reference' {reference!r} is not a source of this study ({', '.join(sorted(sources))})")
    return {
        "alpha": float(alpha),
        "correction": _choice(table, "correction", where, CORRECTIONS, defaults["correction"], fail),
        "family": _choice(table, "family", where, FAMILIES, defaults["family"], fail),
        "sided": _choice(table, "sided", where, SIDES, defaults["sided"], fail),
        "reference": reference,
        "interim": _interim(table.get("interim", defaults["interim"]), f"{where[:-1]}.interim]", fail),
    }


def _interim(value: Any, where: str, fail: Fail) -> dict[str, Any] | bool:
    """false, or {looks: increasing information fractions ending at 1, spending, readers: planned finished readers}."""
    if value is False:
        return False
    if not isinstance(value, dict):
        raise fail(where, f"must be false or a table with looks, spending and readers, not {value!r}")
    _known(value, INTERIM_KEYS, where, fail)
    looks = value.get("looks")
    numbers = isinstance(looks, list) and all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in looks)
    if not numbers or len(looks) < 2 or not all(a < b for a, b in zip([0, *looks], looks)) or looks[-1] != 1:
        raise fail(
            where,
            f"'looks' must be at least two increasing information fractions ending at 1, e.g. [0.5, 1.0], "
            f"not {looks!r}",
        )
    readers = value.get("readers")
    if not isinstance(readers, int) or isinstance(readers, bool) or readers < 2:
        raise fail(
            where,
            f"'readers' (the finished readers the study plans: full information) must be an integer of at least 2, "
            f"not {readers!r}",
        )
    return {
        "looks": [float(t) for t in looks],
        "spending": _choice(value, "spending", where, SPENDING, SPENDING[0], fail),
        "readers": readers,
    }


def _choice(table: dict[str, Any], key: str, where: str, choices: tuple[str, ...], default: Any, fail: Fail) -> Any:
    value = table.get(key, default)
    if value not in choices:
        raise fail(where, f"{key!r} must be one of {', '.join(map(repr, choices))}, not {value!r}")
    return value


def _known(table: dict[str, Any], allowed: set[str], where: str, fail: Fail) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
