"""analyze(): the summary.json structure the command line and the staff results page share."""

import json

import pytest
from statsmodels.stats.multitest import multipletests

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
    assert set(lobes["pairwise"][0]) == {"a", "b", "statistic", "p", "p_bonferroni", "p_adjusted"}
    assert set(summary["pathology"]) == {"overall", "by_truth", "by_source", "by_truth_source", "by_volume"}
    json.dumps(summary, allow_nan=False)


def test_it_adds_reader_agreement_scan_level_tests_and_the_adjustment_as_specified(rankings):
    summary = analyze(rankings)
    assert summary["adjustment"] == {"method": "bonferroni", "family": "structure"}
    lobes = summary["ranking"]["lobes and fissures"]
    agreement = lobes["reader_agreement"]
    assert set(agreement) == {"w_mean", "w_min", "w_max", "w_by_set"}
    assert set(agreement["w_by_set"]["lobes-and-fissures-1"]) == {"w", "p", "readers"}
    assert agreement["w_min"] <= agreement["w_mean"] <= agreement["w_max"]
    scan = lobes["scan_level"]
    assert set(scan) >= {"method", "exact", "permutations", "p", "pairwise", "mc_se"}
    assert (scan["exact"], scan["permutations"]) == (True, 24**4)
    assert set(scan["pairwise"][0]) >= {"a", "b", "p", "p_adjusted"} and len(scan["pairwise"]) == 6


def test_holm_over_all_structures_adjusts_every_pair_of_every_structure_together(rankings):
    summary = analyze(rankings, family="all", adjust="holm")
    pairs = [pair for result in summary["ranking"].values() for pair in result["pairwise"]]
    expected = multipletests([pair["p"] for pair in pairs], method="holm")[1]
    assert [pair["p_adjusted"] for pair in pairs] == pytest.approx(list(expected))
    assert all(pair["p_bonferroni"] == pytest.approx(min(1, 6 * pair["p"])) for pair in pairs)
    scan = [pair for result in summary["ranking"].values() for pair in result["scan_level"]["pairwise"]]
    assert [pair["p_adjusted"] for pair in scan] == pytest.approx(
        list(multipletests([pair["p"] for pair in scan], method="holm")[1])
    )


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
