"""Blocks: which rankings enter the rank tests, and how."""

import pingouin
import pytest

from studies.analysis.blocks import structure_blocks
from studies.analysis.tables import validate_rankings


def test_each_readers_ranking_of_one_set_is_one_block_by_default(rankings):
    blocks = structure_blocks(validate_rankings(rankings), "airway")
    assert blocks.ranks.shape == (6 * 4, 4)
    assert list(blocks.ranks.columns) == ["real", "medsyn", "ha-gan", "medical-diffusion"]


def test_reader_blocks_average_each_readers_ranks_per_source(rankings):
    table = validate_rankings(rankings)
    blocks = structure_blocks(table, "airway", by="reader")
    rows = table[(table["structure"] == "airway") & (table["reader"] == "reader-02") & (table["source"] == "medsyn")]
    assert blocks.ranks.shape == (6, 4)
    assert blocks.ranks.loc["reader-02", "medsyn"] == pytest.approx(rows["rank"].mean())


def test_an_incomplete_ranking_is_reported_and_left_out(rankings):
    table = validate_rankings(rankings)
    dropped = table.drop(
        table[
            (table["structure"] == "airway")
            & (table["reader"] == "reader-03")
            & (table["set"] == "airway-2")
            & (table["source"] == "ha-gan")
        ].index
    )
    blocks = structure_blocks(dropped, "airway")
    assert len(blocks.ranks) == 23
    assert blocks.incomplete.to_dict(orient="records") == [
        {"reader": "reader-03", "set": "airway-2", "ranked": 3, "missing": "ha-gan"}
    ]
    assert not ((blocks.rows["reader"] == "reader-03") & (blocks.rows["set"] == "airway-2")).any()


def test_set_blocks_differ_from_pingouins_subject_average(rankings):
    """pingouin.friedman(subject="reader") silently averages a reader's sets: n readers, not n rankings."""
    table = validate_rankings(rankings)
    airway = table[table["structure"] == "airway"]
    by_pingouin = pingouin.friedman(airway, dv="rank", within="source", subject="reader")
    from studies.analysis.friedman import friedman

    ours_by_reader = friedman(structure_blocks(table, "airway", by="reader").ranks.to_numpy())
    ours_by_set = friedman(structure_blocks(table, "airway").ranks.to_numpy())
    assert by_pingouin["Q"].iloc[0] == pytest.approx(ours_by_reader["statistic"])
    assert ours_by_set["statistic"] != pytest.approx(ours_by_reader["statistic"])
