"""analyze(): the summary.json structure the command line and the staff results page share."""

import json

import pytest

from studies.analysis.report import report_markdown
from studies.analysis.summary import analyze
from studies.errors import StudyError
from tests.analysis.conftest import STRUCTURES, make_pathology, make_readers


def test_it_returns_the_documented_structure(rankings):
    summary = analyze(rankings, make_pathology(), make_readers())
    assert set(summary) >= {"ranking", "pathology", "readers"}
    assert list(summary["ranking"]) == STRUCTURES
    lobes = summary["ranking"]["lobes and fissures"]
    assert set(lobes) >= {"n_blocks", "mean_rank", "sd_rank", "rank_counts", "friedman", "kendall_w", "pairwise"}
    assert set(lobes["friedman"]) == {"statistic", "df", "p"}
    assert set(lobes["pairwise"][0]) == {"a", "b", "statistic", "p", "p_bonferroni"}
    assert set(summary["pathology"]) == {"overall", "by_truth", "by_source", "by_volume"}
    json.dumps(summary, allow_nan=False)


def test_mean_ranks_and_counts_come_from_the_complete_rankings(rankings):
    lobes = analyze(rankings)["ranking"]["lobes and fissures"]
    rows = rankings[rankings["structure"] == "lobes and fissures"].assign(rank=lambda t: t["rank"].astype(int))
    assert lobes["n_blocks"] == 24
    assert lobes["mean_rank"]["medsyn"] == pytest.approx(rows[rows["source"] == "medsyn"]["rank"].mean())
    assert sum(lobes["rank_counts"]["real"].values()) == 24
    assert sum(lobes["mean_rank"].values()) == pytest.approx(1 + 2 + 3 + 4)


def test_kendalls_w_is_friedmans_statistic_over_n_times_k_minus_one(rankings):
    airway = analyze(rankings)["ranking"]["airway"]
    assert airway["kendall_w"]["w"] == pytest.approx(airway["friedman"]["statistic"] / (24 * 3))
    assert airway["kendall_w"]["p"] == airway["friedman"]["p"]


def test_reader_blocks_give_one_block_per_reader(rankings):
    assert analyze(rankings, blocks="reader")["ranking"]["airway"]["n_blocks"] == 6


def test_the_reference_defaults_to_real(rankings):
    assert analyze(rankings)["reference"] == "real"


def test_it_rejects_a_reference_that_was_not_ranked(rankings):
    with pytest.raises(StudyError, match="reference source 'truth' is not ranked"):
        analyze(rankings, reference="truth")


def test_a_structure_without_complete_rankings_has_no_tests_yet(rankings):
    """Every vessels ranking lacks its last-ranked scan: all incomplete, nothing to test (the live page's start)."""
    partial = rankings[~((rankings["structure"] == "vessels") & (rankings["rank"] == "4"))]
    assert partial[partial["structure"] == "vessels"]["source"].nunique() == 4
    summary = analyze(partial)
    vessels = summary["ranking"]["vessels"]
    assert (vessels["n_blocks"], vessels["n_incomplete"]) == (0, 24)
    assert vessels["friedman"] is None and vessels["pairwise"] == []
    assert "No complete ranking of vessels yet" in report_markdown(summary)


def test_an_undefined_post_hoc_p_is_null_not_nan(rankings):
    """Two readers ranking alike: Conover's error variance is zero and scikit-posthocs returns NaN p-values."""
    alike = rankings[rankings["reader"].isin(["reader-01", "reader-02"]) & rankings["set"].str.endswith("-1")].copy()
    alike.loc[alike["reader"] == "reader-02", "rank"] = alike.loc[alike["reader"] == "reader-01", "rank"].to_numpy()
    summary = analyze(alike, posthoc="conover")
    assert None in [pair["p_adjusted"] for pair in summary["ranking"]["airway"]["posthoc"]]
    json.dumps(summary, allow_nan=False)


def test_a_study_without_rankings_has_only_recognition():
    summary = analyze(None, make_pathology())
    assert summary["ranking"] == {} and summary["reference"] is None
    assert summary["pathology"]["overall"]["n"] == 36
