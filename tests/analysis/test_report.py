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
    pooled = airway["kendall_w"]["w"]
    assert (
        f"Consistency across all 24 rankings pooled (different scans, so not agreement among readers): W = {pooled:.3f}"
        in report
    )
    assert f"mean W = {airway['reader_agreement']['w_mean']:.3f}" in report


def test_it_summarises_readers_and_recognition(rankings):
    report = report_markdown(analyze(rankings, make_pathology(), make_readers()))
    assert "6 readers took part; 5 finished." in report
    assert "31 of 36 answers (86.1 %, 95 % CI 71.3–93.9 % (Wilson), " in report and "(clustered)" in report


def test_it_says_which_claim_each_p_supports_and_that_four_sets_cannot_separate_two_generators(rankings):
    report = report_markdown(analyze(rankings))
    assert "found a difference between these scans" in report
    assert "Scan-level test (the claim about these generators" in report
    assert "With 4 sets no pairwise scan-level p can fall below 0.125 (2 of 16 swaps)" in report
    assert "corrected for 6 pairs, that takes at least 8 sets per structure" in report  # 2 · 6 / 2⁸ = 0.047


def test_it_gives_reading_times_and_who_did_not_take_part(rankings):
    readers = make_readers()
    readers["status"] = ["finished"] * 4 + ["not started", "revoked"]
    report = report_markdown(analyze(rankings, make_pathology(), readers))
    assert "4 of 6 invited readers took part; 4 finished. Not started: reader-05." in report
    assert "Invitation revoked (left out of these counts): reader-06." in report
    assert "- 48 row(s) of rankings.csv from revoked reader(s) 'reader-06' were left out." in report
    assert "readers.csv says 'reader-05' has not started, but rankings.csv holds 48 answer row(s)" in report
    assert "Reading time, median (IQR) in seconds: a ranking 41.5 (41.5–41.5, n = 60)" in report
