"""One order of sources everywhere in the results: the reference first, then the others alphabetically."""

import io
import re

import pytest

from studies.analysis import plots
from studies.analysis.report import report_markdown
from studies.analysis.results import result_plots, result_tables
from studies.analysis.sources import in_pair_order, source_order
from studies.analysis.summary import analyze
from tests.analysis.conftest import make_pathology, make_readers

# conftest's rows name the sources real, medsyn, ha-gan, medical-diffusion: neither this order nor sorted
ORDER = ["real", "ha-gan", "medical-diffusion", "medsyn"]


def test_the_reference_comes_first_then_the_others_alphabetically():
    assert source_order(["medsyn", "Zeta", "real", "alpha", "medsyn"]) == ["real", "alpha", "medsyn", "Zeta"]
    assert source_order(["medsyn", "real", "ha-gan"], "medsyn") == ["medsyn", "ha-gan", "real"]
    assert source_order(["medsyn", "ha-gan"]) == ["ha-gan", "medsyn"]


def test_pairs_follow_the_order_of_their_sources():
    pairs = [{"a": "medsyn", "b": "ha-gan"}, {"a": "ha-gan", "b": "real"}, {"a": "medsyn", "b": "real"}]
    assert [(p["a"], p["b"]) for p in in_pair_order(pairs, ["real", "ha-gan", "medsyn"])] == [
        ("ha-gan", "real"),
        ("medsyn", "real"),
        ("medsyn", "ha-gan"),
    ]


@pytest.fixture
def summary(rankings) -> dict:
    """The whole analysis of the conftest tables."""
    return analyze(rankings, make_pathology(), make_readers())


def _pairs(order: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]


def test_summary_json_lists_every_source_entry_and_pair_in_the_one_order(summary):
    for result in summary["ranking"].values():
        assert list(result["mean_rank"]) == list(result["sd_rank"]) == list(result["rank_counts"]) == ORDER
        assert [(p["a"], p["b"]) for p in result["pairwise"]] == _pairs(ORDER)
        assert [(p["a"], p["b"]) for p in result["scan_level"]["pairwise"]] == _pairs(ORDER)
    pathology = summary["pathology"]
    assert list(pathology["by_source"]) == ["real", "medsyn"]
    for truth in pathology["by_truth"]:
        cells = [cell["source"] for cell in pathology["by_truth_source"] if cell["truth"] == truth]
        assert cells == source_order(cells)
    assert [row["source"] for row in pathology["by_volume"]] == ["real"] + ["medsyn"] * 5
    assert [t["value"] for t in summary["reading_time"] if t["group"] == "source"] == ["real", "medsyn"]


def test_another_reference_leads_instead(rankings):
    summary = analyze(rankings, make_pathology(), reference="medsyn")
    assert list(summary["ranking"]["airway"]["mean_rank"]) == ["medsyn", "ha-gan", "medical-diffusion", "real"]
    assert list(summary["pathology"]["by_source"]) == ["medsyn", "real"]


def test_the_tables_list_sources_in_the_one_order(summary):
    tables = result_tables(summary)
    for _, rows in tables["mean_ranks"].groupby("structure", sort=False):
        assert rows["source"].tolist() == ORDER
    for _, rows in tables["pairwise"].groupby("structure", sort=False):
        assert list(zip(rows["a"], rows["b"])) == _pairs(ORDER)
    recognition = tables["recognition"]
    assert recognition.loc[recognition["group"] == "source", "value"].tolist() == ["real", "medsyn"]


@pytest.fixture
def figures(monkeypatch, summary) -> dict:
    """Each plot's matplotlib Figure, caught as it is saved."""
    caught = {}
    drawing = {}
    monkeypatch.setattr(plots, "_save", lambda figure, target: caught.__setitem__(drawing["name"], figure))
    for name, draw in result_plots(summary).items():
        drawing["name"] = name
        draw(io.BytesIO())
    return caught


def test_every_plot_shows_the_sources_in_the_one_order(figures):
    assert figures["mean_ranks.png"].axes[0].get_legend_handles_labels()[1] == ORDER
    for axes in figures["rank_frequencies.png"].axes:
        assert [label.get_text() for label in axes.get_xticklabels()] == ORDER
    assert figures["recognition.png"].axes[0].get_legend_handles_labels()[1] == ["real", "medsyn"]


def _named(text: str, names: list[str]) -> list[str]:
    """The names in the order text mentions them first."""
    return sorted(names, key=lambda name: re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text).start())


def test_the_report_names_the_sources_in_the_one_order(summary):
    report = report_markdown(summary)
    means = re.findall(r"were (.*?)\. The Friedman", report)
    assert len(means) == len(summary["ranking"])
    for sentence in means:
        assert _named(sentence, ORDER) == ORDER
    by_source = re.search(r"By source: (.*?)\. By true finding", report).group(1)
    assert _named(by_source, ["real", "medsyn"]) == ["real", "medsyn"]
    per_source = re.search(r"Per recognition source: (.*?)\)\.", report).group(1)
    assert _named(per_source, ["real", "medsyn"]) == ["real", "medsyn"]
