"""The power simulation: the same statistics as the analysis, reproducible, fast."""

import numpy as np
import pandas as pd
import pytest

from studies.analysis.permutation import EXACT_LIMIT
from studies.analysis.pilot import estimate_from_pilot
from studies.analysis.power import (
    CROSSED,
    SCAN_LEVEL,
    Design,
    block_ranks,
    effects_from_mean_ranks,
    parse_effects,
    power,
    power_curve,
    scan_level_pvalues,
    simulate_ranks,
    study_pvalues,
)
from studies.analysis.summary import structure_summary
from studies.analysis.tables import validate_rankings
from studies.errors import StudyError

EFFECTS = {"real": 0.0, "medsyn": -0.4, "ha-gan": -0.8, "medical-diffusion": -1.2}


def as_export(ranks: np.ndarray, sources: list[str]) -> pd.DataFrame:
    """One simulated study (readers, sets, k) as rankings.csv rows."""
    return pd.DataFrame(
        [
            {"reader": f"r{r}", "structure": "airway", "set": f"s{s}", "source": source, "rank": int(ranks[r, s, j])}
            for r in range(ranks.shape[0])
            for s in range(ranks.shape[1])
            for j, source in enumerate(sources)
        ]
    )


@pytest.mark.parametrize(("readers", "blocks"), [(3, "set"), (10, "set"), (5, "reader")])
def test_simulated_p_values_equal_those_of_the_analysis(readers, blocks):
    """study_pvalues (vectorised over studies) gives what analyze's structure_summary gives for each study."""
    design = Design(EFFECTS, readers, 4, blocks)
    ranks = simulate_ranks(design, 3, np.random.default_rng(1))
    pvalues = study_pvalues(block_ranks(ranks, blocks), list(EFFECTS))
    for study in range(3):
        result = structure_summary(validate_rankings(as_export(ranks[study], list(EFFECTS))), "airway", blocks)
        assert pvalues["Friedman"][study] == pytest.approx(result["friedman"]["p"], rel=1e-10)
        for pair in result["pairwise"]:
            assert pvalues[f"{pair['a']} vs {pair['b']}"][study] == pytest.approx(pair["p_bonferroni"], rel=1e-10)


def test_power_is_reproducible_by_seed():
    design = Design(EFFECTS, 6, 4)
    assert power(design, 200, seed=7) == power(design, 200, seed=7)


def test_without_differences_the_friedman_test_rejects_about_five_percent():
    """Under the null the rejection rate is the test's size (χ² approximation, 2000 studies: 0.05 ± 0.015)."""
    design = Design({"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}, 10, 4)
    assert power(design, 2000, seed=3)["Friedman"] == pytest.approx(0.05, abs=0.015)


def test_more_readers_give_more_power():
    small, large = power(Design(EFFECTS, 3, 4), 400, seed=2), power(Design(EFFECTS, 12, 4), 400, seed=2)
    assert large["real vs ha-gan"] > small["real vs ha-gan"]


def test_effects_from_a_pilot_reproduce_its_mean_ranks():
    """Fitted effects, simulated again, give back the pilot's mean ranks (Thurstone case V)."""
    mean_rank = {"real": 1.6, "medsyn": 2.28, "ha-gan": 3.0, "medical-diffusion": 3.12}
    effects = effects_from_mean_ranks(mean_rank)
    ranks = simulate_ranks(Design(effects, 200, 10), 1, np.random.default_rng(0))
    assert ranks.reshape(-1, 4).mean(axis=0) == pytest.approx(list(mean_rank.values()), abs=0.05)


def test_it_rejects_an_effect_list_that_misses_a_source():
    with pytest.raises(StudyError, match="no effect given for ha-gan"):
        parse_effects("real=1,medsyn=0.5", ["real", "medsyn", "ha-gan"])


def test_the_power_curve_at_a_reader_count_is_the_power_of_that_design():
    """With common random numbers, the curve's point at r readers is the power of r readers' first rankings."""
    curve = power_curve(Design(EFFECTS, 8, 4), [3, 8], 300, seed=5)
    assert [values[1] for values in curve.values()] == list(power(Design(EFFECTS, 8, 4), 300, seed=5).values())


def test_simulated_scan_level_p_values_equal_those_of_the_analysis():
    design = Design(EFFECTS, 5, 3, scan_sd=0.5)
    ranks = simulate_ranks(design, 3, np.random.default_rng(6))
    pvalues = scan_level_pvalues(ranks, list(EFFECTS), permutations=EXACT_LIMIT)
    for study in range(3):
        result = structure_summary(validate_rankings(as_export(ranks[study], list(EFFECTS))), "airway")
        assert pvalues[SCAN_LEVEL][study] == pytest.approx(result["scan_level"]["p"], rel=1e-12)
        assert pvalues[CROSSED][study] == pytest.approx(result["crossed"]["p"], rel=1e-12)
        for pair in result["scan_level"]["pairwise"]:
            name = f"{pair['a']} vs {pair['b']} (scan-level)"
            assert pvalues[name][study] == pytest.approx(min(1.0, 6 * pair["p"]), rel=1e-12)


def test_scan_quality_is_shared_by_every_reader_of_a_set():
    """With a scan SD far above the noise, readers of one set agree, and sets differ."""
    ranks = simulate_ranks(Design(dict.fromkeys("abcd", 0.0), 8, 6, scan_sd=20.0), 1, np.random.default_rng(1))[0]
    assert (ranks == ranks[:1]).mean() > 0.9 and not (ranks[:, :1] == ranks).all()


def test_a_pilot_recovers_its_variance_components_roughly():
    truth = Design({"a": 0.6, "b": 0.2, "c": 0.0, "d": -0.4}, 16, 10, reader_sd=0.5, scan_sd=1.0)
    ranks = simulate_ranks(truth, 1, np.random.default_rng(11))[0]
    estimate = estimate_from_pilot(validate_rankings(as_export(ranks, list(truth.effects))))
    assert estimate.scan_sd == pytest.approx(1.0, abs=0.5) and estimate.reader_sd == pytest.approx(0.5, abs=0.5)
    mean_rank = ranks.reshape(-1, 4).mean(axis=0)
    assert np.argsort(-np.array(list(estimate.effects.values()))).tolist() == np.argsort(mean_rank).tolist()


@pytest.mark.slow
@pytest.mark.parametrize(("reader_sd", "scan_sd"), [(0.0, 0.0), (0.5, 0.0), (0.0, 1.0)])
def test_the_crossed_test_keeps_its_type_i_error_under_the_null_scenarios(reader_sd, scan_sd):
    """Readers and scans random: at most 6 % rejections of 2000 null studies (as in bench analysis-validity)."""
    design = Design(dict.fromkeys("abcd", 0.0), 10, 4, reader_sd=reader_sd, scan_sd=scan_sd)
    ranks = simulate_ranks(design, 2000, np.random.default_rng(21))
    assert np.mean(scan_level_pvalues(ranks, list("abcd"))[CROSSED] <= 0.05) <= 0.06


@pytest.mark.slow
def test_the_scan_level_permutation_test_keeps_its_size_under_shared_scan_quality():
    design = Design(dict.fromkeys("abcd", 0.0), 10, 4, scan_sd=1.0)
    ranks = simulate_ranks(design, 2000, np.random.default_rng(22))
    assert np.mean(scan_level_pvalues(ranks, list("abcd"), permutations=EXACT_LIMIT)[SCAN_LEVEL] <= 0.05) <= 0.06
