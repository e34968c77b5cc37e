"""The plan applied: primary endpoints first at the plan's α and correction, the rest labelled exploratory, every
deviation named, the documented defaults said when no plan was written, and the export's plan.json and design.csv
used without options."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from studies.analysis.endpoints import apply_plan, plan_document, read_plan
from studies.analysis.plan import plan_digest, resolve_plan
from studies.analysis.report import report_markdown
from studies.analysis.summary import analyze
from studies.cli import main
from studies.errors import StudyError
from tests.analysis.conftest import SOURCES, make_pathology, make_rankings


def fail(where: str, problem: str) -> StudyError:
    return StudyError(f"test plan: {where}: {problem}")


def plan(raw: dict | None, tasks=("ranking", "recognition")) -> dict:
    return resolve_plan(raw, tasks, set(SOURCES), fail)


def frozen(raw: dict | None, looks=()) -> dict:
    resolved = plan(raw)
    return plan_document(resolved, "plan.json", plan_digest(resolved), "2026-12-01T09:00:00Z", list(looks))


@pytest.fixture(scope="module")
def small():
    return make_rankings(readers=4, sets=2), make_pathology(readers=4)


def test_the_primary_endpoints_come_first_then_everything_else_as_exploratory(small):
    summary = analyze(*small, plan=frozen({"ranking": {"primary": "crossed", "secondary": ["friedman"]}}))
    report = report_markdown(summary)
    order = ["## Analysis plan", "### Primary endpoints", "### Secondary endpoints", "### Deviations", "exploratory"]
    assert [report.index(heading) for heading in order] == sorted(report.index(heading) for heading in order)
    assert report.index("exploratory") < report.index("## Anatomical feasibility")
    assert "The analysis follows the plan frozen when the study opened (2026-12-01T09:00:00Z" in report
    primary = [row for row in summary["plan"]["endpoints"] if row["role"] == "primary"]
    assert {(row["task"], row["test"]) for row in primary} == {("ranking", "crossed"), ("recognition", "accuracy")}
    assert len([row for row in primary if row["task"] == "ranking"]) == 3  # one per structure
    assert "- None." in report  # no deviation


def test_the_plans_alpha_decides_every_verdict_of_the_report(small):
    strict = analyze(*small, plan=frozen({"alpha": 1e-12, "ranking": {"primary": "friedman"}}))
    report = report_markdown(strict)
    assert all(row["decision"] == "not significant" for row in strict["plan"]["endpoints"] if row["p"] is not None)
    assert "did not find a difference" in report and "found a difference" not in report
    assert "significance at p ≤ 1e-12" in report


def test_the_plans_correction_adjusts_the_primary_tests_over_the_structures(small):
    summary = analyze(*small, plan=frozen({"correction": "bonferroni", "ranking": {"primary": "friedman"}}))
    rows = [row for row in summary["plan"]["endpoints"] if row["test"] == "friedman"]
    assert [row["p_adjusted"] for row in rows] == pytest.approx([min(1, 3 * row["p"]) for row in rows])
    assert summary["adjustment"] == {"method": "bonferroni", "family": "structure"}


def test_a_reference_or_correction_other_than_the_plans_is_named_as_a_deviation(small):
    summary = analyze(*small, plan=frozen({"correction": "holm"}), reference="medsyn", adjust="bonferroni")
    report = report_markdown(summary)
    assert "- reference 'medsyn' was asked for at analysis time; the plan says 'real'." in report
    assert "- correction 'bonferroni' was asked for at analysis time; the plan says 'holm'." in report


def test_without_a_plan_the_report_says_the_documented_defaults_were_used(small):
    summary = analyze(*small)
    assert summary["plan"]["source"] == "defaults" and summary["plan"]["written"] is False
    assert "No analysis plan was written for this study, so the documented defaults were used" in report_markdown(
        summary
    )


def test_after_an_interim_look_the_final_test_is_judged_at_the_alpha_left():
    """Looks at 0.5 and 1: the final O'Brien–Fleming boundary 1.969 is a nominal two-sided α of 0.0490."""
    document = frozen({"interim": {"looks": [0.5, 1.0], "readers": 8}}, looks=[{"look": 1, "fraction": 0.5}])
    summary = {"ranking": {"airway": {"crossed": {"p": 0.0495}}}, "pathology": None}
    applied = apply_plan(summary, document, [])
    assert applied["tasks"]["ranking"]["final_alpha"] == pytest.approx(0.0490, abs=1e-4)
    (row,) = [row for row in applied["endpoints"] if row["task"] == "ranking"]
    assert row["decision"] == "not significant" and row["alpha"] == pytest.approx(0.0490, abs=1e-4)
    untaken = apply_plan(summary, frozen({"interim": {"looks": [0.5, 1.0], "readers": 8}}), [])
    assert untaken["tasks"]["ranking"]["final_alpha"] == 0.05  # no look taken: nothing spent


def test_a_primary_test_that_cannot_be_computed_is_listed_with_the_reason():
    summary = {"ranking": {"airway": {"crossed": None}}, "pathology": None}
    applied = apply_plan(summary, frozen(None), [])
    ranking = [row for row in applied["endpoints"] if row["task"] == "ranking"]
    assert ranking[0]["decision"] == "not computed" and ranking[0]["why"]
    assert (
        "the plan's recognition endpoints were not analysed: no recognition answers were given"
        in (applied["deviations"])
    )


def test_a_plan_changed_after_it_was_frozen_is_refused(tmp_path):
    document = frozen({"alpha": 0.05})
    document["plan"]["alpha"] = 0.1
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(
        StudyError, match="plan.json: the plan's SHA-256 is .* the plan was changed after it was frozen"
    ):
        read_plan(path)


def test_analyze_takes_design_csv_and_plan_json_from_the_export_folder(tmp_path, small, capsys):
    rankings, _ = small
    rankings.to_csv(tmp_path / "rankings.csv", index=False)
    design = rankings[["structure", "set", "volume", "source"]].drop_duplicates().assign(task="ranking", truth="")
    design.to_csv(tmp_path / "design.csv", index=False)
    (tmp_path / "plan.json").write_text(json.dumps(frozen({"alpha": 0.01}, ())))
    out = tmp_path / "analysis"
    assert main(["analyze", "--export", str(tmp_path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["plan"]["source"] == "plan.json" and summary["plan"]["tasks"]["ranking"]["alpha"] == 0.01
    assert "analysis plan: plan from plan.json" in capsys.readouterr().out
    typo = pd.read_csv(tmp_path / "rankings.csv", dtype=str)
    typo.loc[0, "set"] = "airway-9"
    typo.to_csv(tmp_path / "rankings.csv", index=False)
    assert main(["analyze", "--export", str(tmp_path), "--out", str(out)]) == 2
    assert "set 'airway-9' is not a ranking set of the design" in capsys.readouterr().err
