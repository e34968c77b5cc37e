"""Scan-level permutation tests, checked against a full enumeration written here independently."""

import itertools

import numpy as np
import pandas as pd
import pytest

from studies.analysis.permutation import global_test, scan_permutation_pairs, scan_permutation_test

SOURCES = ["a", "b", "c", "d"]


def small_study(sets: int = 3, readers: int = 6, seed: int = 3) -> pd.DataFrame:
    """Complete rankings, long form: every reader ranks the same scans of each set; a weak source effect."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(sets):
        scans = np.array([0.8, 0.3, 0.0, 0.0]) + rng.normal(0, 0.7, 4)  # the scans' own quality
        for r in range(readers):
            ranks = (-(scans + rng.normal(0, 1, 4))).argsort().argsort() + 1
            rows += [{"set": f"s{s}", "reader": f"r{r}", "source": x, "rank": int(k)} for x, k in zip(SOURCES, ranks)]
    return pd.DataFrame(rows)


def enumerate_global_p(study: pd.DataFrame) -> float:
    """Every relabelling of every set (4!³ = 13,824): the share with Σ_j R_j² at least the observed one."""
    ranks = {(row.set, row.reader, row.source): row.rank for row in study.itertuples()}
    sets, readers = sorted(study["set"].unique()), sorted(study["reader"].unique())

    def statistic(labelling):
        sums = dict.fromkeys(SOURCES, 0)
        for set_id, scans in zip(sets, labelling):
            for reader in readers:
                for label, scan in zip(SOURCES, scans):
                    sums[label] += ranks[(set_id, reader, scan)]
        return sum(value * value for value in sums.values())

    observed = statistic([SOURCES] * len(sets))
    values = [statistic(c) for c in itertools.product(itertools.permutations(SOURCES), repeat=len(sets))]
    return sum(value >= observed for value in values) / len(values)


def enumerate_pair_p(study: pd.DataFrame, a: str, b: str) -> float:
    """Every choice of swapping a and b or not in each set (2³): share with |mean rank a − mean rank b| ≥ observed."""
    sets = sorted(study["set"].unique())

    def difference(swaps):
        total = 0
        for set_id, swap in zip(sets, swaps):
            rows = study[study["set"] == set_id]
            da = rows[rows["source"] == a]["rank"].sum() - rows[rows["source"] == b]["rank"].sum()
            total += -da if swap else da
        return abs(total / (len(study) / 4))

    observed = difference([False] * len(sets))
    values = [difference(swaps) for swaps in itertools.product([False, True], repeat=len(sets))]
    return sum(value >= observed - 1e-12 for value in values) / len(values)


def test_the_global_p_equals_a_full_enumeration_of_every_relabelling():
    study = small_study()
    result = scan_permutation_test(study).iloc[0]
    assert result["exact"] and result["permutations"] == 24**3
    assert result["p"] == pytest.approx(enumerate_global_p(study), abs=1e-12)


def test_each_pair_p_equals_a_full_enumeration_of_the_swaps():
    study = small_study()
    pairs = scan_permutation_pairs(study)
    for pair in pairs.itertuples():
        assert pair.p == pytest.approx(enumerate_pair_p(study, pair.a, pair.b), abs=1e-12)
    assert (pairs["min_p"] == 2 / 8).all()


def test_the_same_permutations_without_the_shortcut_give_the_same_p():
    """Fixing the first set's labelling (the shortcut) gives the p of all (k!)^S relabellings: a second set count."""
    study = small_study(sets=2, readers=4, seed=9)
    assert scan_permutation_test(study)["p"].iloc[0] == pytest.approx(enumerate_global_p(study), abs=1e-12)


def test_monte_carlo_draws_are_seeded_close_to_exact_and_report_their_standard_error():
    study = small_study()
    exact = scan_permutation_test(study)["p"].iloc[0]
    drawn = scan_permutation_test(study, exact_limit=100, draws=20_000, seed=1).iloc[0]
    assert not drawn["exact"] and drawn["permutations"] == 20_000
    assert drawn["mc_se"] == pytest.approx(np.sqrt(drawn["p"] * (1 - drawn["p"]) / 20_000))
    assert abs(drawn["p"] - exact) < 4 * drawn["mc_se"] + 1e-4
    assert scan_permutation_test(study, exact_limit=100, seed=1)["p"].iloc[0] == drawn["p"]


def test_the_vectorised_test_gives_each_study_its_own_p():
    studies = [small_study(seed=seed) for seed in (1, 2, 3)]
    totals = np.stack(
        [s.pivot_table(index="set", columns="source", values="rank", aggfunc="sum").to_numpy() for s in studies]
    )
    _, p = global_test(totals, exact=True)
    assert p == pytest.approx([scan_permutation_test(s)["p"].iloc[0] for s in studies])
