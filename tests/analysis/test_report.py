"""report.md reads like the paper's results paragraph (section V-F-3)."""

from studies.analysis.report import format_p, report_markdown
from studies.analysis.summary import analyze
from tests.analysis.conftest import make_pathology, make_readers


def test_p_values_are_written_in_apa_style():
    assert [format_p(p) for p in (0.0004, 0.056, 0.05, 1.0)] == ["p < .001", "p = .056", "p = .050", "p = 1.000"]


def test_each_structure_gets_mean_ranks_friedman_significant_pairs_and_w(rankings):
    summary = analyze(rankings, make_pathology(), make_readers())
    report = report_markdown(summary, "Demo")
    airway = summary["ranking"]["airway"]
    assert report.startswith("# Demo: results")
    assert "### airway" in report
    assert f"real {airway['mean_rank']['real']:.2f}" in report
    assert f"χ²(3) = {airway['friedman']['statistic']:.2f}" in report
    assert "real was ranked better than ha-gan" in report
    assert f"Kendall's W = {airway['kendall_w']['w']:.3f}" in report and "moderate agreement" in report


def test_it_summarises_readers_and_recognition(rankings):
    report = report_markdown(analyze(rankings, make_pathology(), make_readers()))
    assert "6 readers took part; 5 finished." in report
    assert "31 of 36 answers (86.1 %, 95 % CI 71.3–93.9 %)" in report
