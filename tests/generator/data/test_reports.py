"""Phantom reports: sections the text side can parse, wording that varies, statements that match findings."""

from __future__ import annotations

import numpy as np

from generator.data.reports import report_for
from generator.text.sections import parse_report

NORMAL = {"pleural_effusion": None, "cardiomegaly": None, "consolidation": None, "emphysema": None}
SICK = {
    "pleural_effusion": {"side": "left", "size": "large", "volume_ml": 1200.0},
    "cardiomegaly": {"grade": "marked", "ctr": 0.62},
    "consolidation": {"lobe": "right middle", "extent": 0.7, "pattern": "lobar"},
    "emphysema": {"severity": "severe", "bullae": 2, "laa_percent": 20.0},
}


def test_a_report_has_findings_and_impression_sections():
    sections = parse_report(report_for(SICK, np.random.default_rng(0)))
    assert sections.findings and sections.impression


def test_a_normal_report_negates_each_finding_and_says_the_study_is_normal():
    for seed in range(10):
        text = report_for(NORMAL, np.random.default_rng(seed)).lower()
        sections = parse_report(text)
        assert "no pleural effusion" in text or "without effusion" in text
        assert "no cardiomegaly" in text or "normal" in sections.findings
        assert "no " in sections.impression or "normal" in sections.impression


def test_the_report_states_each_finding_with_its_magnitude_side_and_lobe():
    for seed in range(10):
        impression = parse_report(report_for(SICK, np.random.default_rng(seed))).impression.lower()
        assert "large left pleural effusion" in impression
        assert "marked cardiomegaly" in impression
        assert "right middle lobe consolidation" in impression
        assert "severe emphysema with bullae" in impression


def test_wording_varies_between_draws_for_the_same_findings():
    reports = {report_for(NORMAL, np.random.default_rng(seed)) for seed in range(20)}
    assert len(reports) > 10


def test_a_bilateral_effusion_is_plural():
    findings = {**NORMAL, "pleural_effusion": {"side": "bilateral", "size": "small", "volume_ml": 200.0}}
    assert "small bilateral pleural effusions" in report_for(findings, np.random.default_rng(1)).lower()
