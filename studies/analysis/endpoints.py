"""The plan applied to the results: each task's primary and secondary endpoints judged at the plan's α (after its
correction and, with interim looks, the α its spending left for the final look), and every deviation named.

The plan document (what plan.json holds and `analyze` takes): `plan` (resolved, `studies.analysis.plan`), `sha256`
and `frozen_at` (null when not frozen by the platform), `looks` (interim looks taken: look, fraction, finished,
at, by) and `source` (plan.json, study.json, or defaults).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from studies.analysis.adjust import adjust_p
from studies.analysis.plan import TESTS, interim_of, plan_digest, resolve_plan
from studies.analysis.sequential import boundaries, nominal_alpha
from studies.errors import StudyError

PLAN_FILE = "plan.json"
P_KEYS = {"auc": "auc_p"}
"""Where a test's p is named other than `p` in its result."""
WHAT = {
    "crossed": "readers and scans random (quasi-F)",
    "friedman": "Friedman test (these readers and scans)",
    "scan-level": "scan-level permutation test (these readers)",
    "accuracy": "accuracy with its clustered 95 % interval",
    "auc": "ROC AUC against 0.5 (Obuchowski–Rockette)",
}
"""How the report names each test of `TESTS`."""


def plan_document(
    plan: dict[str, Any],
    source: str,
    sha256: str | None = None,
    frozen_at: str | None = None,
    looks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A plan document from a resolved plan and where it came from."""
    return {"plan": plan, "sha256": sha256, "frozen_at": frozen_at, "looks": list(looks or []), "source": source}


def default_document(tasks: tuple[str, ...], sources: set[str]) -> dict[str, Any]:
    """The plan document of a study that wrote no plan: the documented defaults for its tasks."""

    def fail(where: str, problem: str) -> StudyError:
        return StudyError(f"the default plan: {where}: {problem}")

    return plan_document(resolve_plan(None, tasks, sources, fail), "defaults")


def read_plan(path: str | Path, sources: set[str] | None = None) -> dict[str, Any]:
    """plan.json of an export, checked: a resolved plan whose SHA-256 is the one recorded when it was frozen."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StudyError(f"{path}: not a readable plan.json ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("plan"), dict):
        raise StudyError(f"{path}: expected an object with the frozen plan under 'plan' (as the platform exports it)")
    plan = document["plan"]

    def fail(where: str, problem: str) -> StudyError:
        return StudyError(f"{path}: plan {where}: {problem}")

    resolved = resolve_plan(plan, tuple(task for task in TESTS if task in plan), sources, fail)
    if document.get("sha256") is not None and plan_digest(plan) != document["sha256"]:
        raise StudyError(
            f"{path}: the plan's SHA-256 is {plan_digest(plan)}, not the {document['sha256']} recorded when the "
            "study opened: the plan was changed after it was frozen; analyse with the export as the platform wrote it"
        )
    looks = document.get("looks") or []
    if not isinstance(looks, list) or not all(isinstance(look, dict) and "fraction" in look for look in looks):
        raise StudyError(f"{path}: 'looks' must be a list of the interim looks taken, each with its fraction")
    return plan_document(resolved, PLAN_FILE, document.get("sha256"), document.get("frozen_at"), looks)


def final_alpha(plan: dict[str, Any], task: str, looks: list[dict[str, Any]]) -> float:
    """The α of a task's primary test at the final analysis: the plan's α, or with interim looks taken the nominal
    level of the last Lan–DeMets O'Brien–Fleming boundary after the looks at the fractions actually reached."""
    entry = plan[task]
    taken = sorted({float(look["fraction"]) for look in looks if 0 < float(look["fraction"]) < 1})
    if not entry["interim"] or not taken:
        return entry["alpha"]
    return nominal_alpha(boundaries([*taken, 1.0], entry["alpha"], entry["sided"])[-1], entry["sided"])


def look_alpha(plan: dict[str, Any], task: str, fractions: list[float]) -> float:
    """The nominal α of the primary test at the last of these interim looks (earlier ones at their fractions)."""
    entry = plan[task]
    return nominal_alpha(boundaries(fractions, entry["alpha"], entry["sided"])[-1], entry["sided"])


def apply_plan(summary: dict[str, Any], document: dict[str, Any], deviations: list[str]) -> dict[str, Any]:
    """summary.json's `plan` entry: the plan, its endpoints judged, and the deviations from it."""
    plan, looks = document["plan"], document["looks"]
    found: list[dict[str, Any]] = []
    deviations = list(deviations)
    for task in TESTS:
        if task not in plan:
            continue
        result = summary.get("pathology" if task == "recognition" else task)
        if not result:
            deviations.append(f"the plan's {task} endpoints were not analysed: no {task} answers were given")
            continue
        alpha = final_alpha(plan, task, looks)
        entry = plan[task]
        for role, tests in (("primary", [entry["primary"]]), ("secondary", entry["secondary"])):
            rows = [row for test in tests for row in _endpoint_rows(task, test, result)]
            _judge(rows, entry, alpha if role == "primary" else entry["alpha"])
            found += [{**row, "role": role} for row in rows]
    return {
        "source": document["source"],
        "written": plan["written"],
        "sha256": document["sha256"],
        "frozen_at": document["frozen_at"],
        "rationale": plan["rationale"],
        "looks": looks,
        "interim": interim_of(plan),
        "tasks": {
            task: {**plan[task], "final_alpha": final_alpha(plan, task, looks)} for task in TESTS if task in plan
        },
        "endpoints": found,
        "deviations": deviations,
    }


def _endpoint_rows(task: str, test: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per endpoint of `test` in the task's result: per structure for ranking, one otherwise."""
    if task == "ranking":
        return [_row(task, structure, test, entry) for structure, entry in result.items()]
    return [_row(task, None, test, result)]


def _row(task: str, structure: str | None, test: str, result: dict[str, Any]) -> dict[str, Any]:
    """An endpoint's p (or estimate and interval), or why it could not be computed."""
    row = {"task": task, "structure": structure, "test": test, "p": None, "estimate": None, "ci95": None, "why": ""}
    if test == "accuracy":
        overall = result.get("overall", result)
        estimate = overall.get("accuracy")
        interval = overall.get("ci95_clustered") or overall.get("accuracy_ci95")
        if estimate is None:
            return {**row, "why": result.get("note", "no answers")}
        return {**row, "estimate": estimate, "ci95": interval}
    value: Any = result
    for key in TESTS[task][test]:
        value = (value or {}).get(key)
    if test == "auc":
        return {**row, "p": result.get("auc_p"), "estimate": result.get("auc"), "ci95": result.get("auc_ci95")} | (
            {} if result.get("auc_p") is not None else {"why": "no reader judged both real and synthetic scans"}
        )
    p = (value or {}).get(P_KEYS.get(test, "p"))
    if p is None:
        why = (value or {}).get("skipped") or result.get("note") or "it could not be computed from these answers"
        return {**row, "why": why}
    return {**row, "p": p}


def _judge(rows: list[dict[str, Any]], entry: dict[str, Any], alpha: float) -> None:
    """Give each test's rows (one family per test: its structures) the p after the plan's correction, the α it is
    judged at, and the decision; one-sided plans turn a two-sided p into the planned direction's."""
    for test in dict.fromkeys(row["test"] for row in rows):
        group = [row for row in rows if row["test"] == test and row["p"] is not None]
        if entry["sided"] == "one-sided":
            for row in group:
                row["p"] = row["p"] / 2 if row["estimate"] > 0.5 else 1 - row["p"] / 2
        adjusted = adjust_p(np.array([row["p"] for row in group], dtype=float), entry["correction"])
        for row, value in zip(group, adjusted):
            row["p_adjusted"] = float(value)
        for row in rows:
            if row["test"] == test:
                row["alpha"] = alpha
                row.setdefault("p_adjusted", None)
                row["decision"] = _decision(row, alpha)


def _decision(row: dict[str, Any], alpha: float) -> str:
    """significant / not significant for a test, estimated for an interval, not computed otherwise."""
    if row["p_adjusted"] is not None:
        return "significant" if row["p_adjusted"] <= alpha else "not significant"
    return "estimated" if row["estimate"] is not None else "not computed"
