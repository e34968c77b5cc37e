"""The [analysis] section of a manifest: checked key by key, filled with the documented defaults, written into
study.json; the same checks read study.json and plan.json back."""

from __future__ import annotations

from pathlib import Path

import pytest

from studies.analysis.plan import DEFAULT_ALPHA, plan_digest, resolve_plan
from studies.build import study_document
from studies.bundle import study_plan
from studies.errors import StudyError
from studies.manifest import read_manifest

PLAN = """
[analysis]
alpha = 0.01
correction = "holm"
rationale = "Powered for a one-rank difference (studies power)."

[analysis.ranking]
primary = "friedman"
secondary = ["crossed", "scan-level"]
reference = "medsyn"

[analysis.recognition]
alpha = 0.05
"""


def with_plan(manifest: Path, text: str) -> Path:
    manifest.write_text(manifest.read_text() + text)
    return manifest


def problem(manifest: Path) -> str:
    with pytest.raises(StudyError) as caught:
        read_manifest(manifest)
    assert str(caught.value).startswith(str(manifest)), "every error names the manifest first"
    return str(caught.value)


def fail(where: str, problem: str) -> StudyError:
    return StudyError(f"plan.json: {where}: {problem}")


def test_a_study_without_a_plan_gets_the_documented_defaults(manifest):
    plan = read_manifest(manifest).analysis
    assert plan["written"] is False and plan["alpha"] == DEFAULT_ALPHA == 0.05
    assert set(plan) >= {"ranking", "recognition"} and "rating" not in plan
    assert plan["ranking"] | {} == {
        "primary": "crossed",
        "secondary": [],
        "alpha": 0.05,
        "correction": "bonferroni",
        "family": "structure",
        "sided": "two-sided",
        "reference": "real",
        "interim": False,
    }
    assert plan["recognition"]["primary"] == "accuracy"


def test_per_task_tables_override_the_defaults_at_the_top(manifest):
    plan = read_manifest(with_plan(manifest, PLAN)).analysis
    assert plan["written"] is True and plan["rationale"].startswith("Powered")
    assert plan["ranking"]["primary"] == "friedman" and plan["ranking"]["secondary"] == ["crossed", "scan-level"]
    assert plan["ranking"]["alpha"] == 0.01 and plan["ranking"]["correction"] == "holm"
    assert plan["ranking"]["reference"] == "medsyn" and plan["recognition"]["alpha"] == 0.05


def test_the_resolved_plan_reads_back_unchanged_and_has_one_digest(manifest):
    plan = read_manifest(with_plan(manifest, PLAN)).analysis
    sources = {"real", "medsyn", "ha-gan", "medical-diffusion"}
    again = resolve_plan(plan, ("ranking", "recognition"), sources, fail)
    assert again == plan and plan_digest(again) == plan_digest(plan) and len(plan_digest(plan)) == 64


def test_interim_looks_are_read_with_their_spending_function(manifest):
    text = "\n[analysis.interim]\nlooks = [0.5, 1.0]\nreaders = 20\n"
    plan = read_manifest(with_plan(manifest, "[analysis]" + text)).analysis
    assert plan["ranking"]["interim"] == {"looks": [0.5, 1.0], "spending": "obrien-fleming", "readers": 20}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[analysis]\nalpha = 0.7", "[analysis]: 'alpha' must be a number between 0 and 0.5"),
        ("[analysis]\ncorrection = 'sidak'", "[analysis]: 'correction' must be one of 'bonferroni', 'holm', 'none'"),
        ("[analysis]\nprimary = 'anova'", "[analysis]: 'primary' 'anova' is no test of this study's tasks"),
        ("[analysis.ranking]\nprimary = 'auc'", "[analysis.ranking]: 'primary' must be one of 'crossed'"),
        ("[analysis.ranking]\nreference = 'gan'", "[analysis.ranking]: 'reference' 'gan' is not a source"),
        ("[analysis.rating]\nprimary = 'crossed'", "[analysis.rating]: the study has no rating task"),
        ("[analysis.ranking]\nsided = 'one-sided'", "[analysis.ranking]: 'sided' = 'one-sided' needs a primary test"),
        ("[analysis.ranking]\nsecondary = ['tukey']", "[analysis.ranking]: 'secondary' must be a list of tests"),
        ("[analysis]\nalpah = 0.05", "[analysis]: unknown key 'alpah'"),
        ("[analysis.interim]\nlooks = [0.5]\nreaders = 9", "[analysis.interim]: 'looks' must be at least two"),
        ("[analysis.interim]\nlooks = [0.6, 0.4, 1]\nreaders = 9", "[analysis.interim]: 'looks' must be at least"),
        ("[analysis.interim]\nlooks = [0.5, 1]", "[analysis.interim]: 'readers' (the finished readers"),
        ("[analysis.interim]\nlooks = [0.5, 1]\nreaders = 9\nspending = 'pocock'", "'spending' must be one of"),
        (
            "[analysis.ranking.interim]\nlooks = [0.5, 1]\nreaders = 9\n"
            "[analysis.recognition.interim]\nlooks = [0.3, 1]\nreaders = 9",
            "[analysis]: interim looks are the study's",
        ),
    ],
)
def test_a_bad_plan_is_refused_naming_the_table_and_key(manifest, text, expected):
    assert expected in problem(with_plan(manifest, "\n" + text + "\n"))


def test_a_task_can_refuse_interim_looks_the_study_allows(manifest):
    text = "\n[analysis.interim]\nlooks = [0.5, 1]\nreaders = 9\n[analysis.recognition]\ninterim = false\n"
    plan = read_manifest(with_plan(manifest, "[analysis]" + text)).analysis
    assert plan["ranking"]["interim"]["readers"] == 9 and plan["recognition"]["interim"] is False


def test_build_writes_the_plan_into_study_json(manifest):
    study = read_manifest(with_plan(manifest, PLAN))
    ids = [volume.id for volume in study.volumes]
    names, digests, dithers = {i: i for i in ids}, {i: "0" * 64 for i in ids}, dict.fromkeys(ids)
    document = study_document(study, ((32, 32, 32), 10.0), names, digests, None, dithers)
    assert document["analysis"] == study.analysis


def test_study_json_without_a_plan_reads_as_the_defaults_and_a_bad_one_is_refused():
    study = {"ranking": [{"structure": "airways"}], "volumes": [{"source": "real"}, {"source": "medsyn"}]}
    assert study_plan(study, Path("bundle/study.json"))["ranking"]["primary"] == "crossed"
    study["analysis"] = {"ranking": {"primary": "friedman", "alpha": 2}}
    with pytest.raises(StudyError, match=r"bundle/study.json: analysis \[analysis.ranking\]: 'alpha' must be"):
        study_plan(study, Path("bundle/study.json"))
