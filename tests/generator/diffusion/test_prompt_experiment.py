"""`prompt-experiment`: paired prompts sampled with the same seeds, measured, t-tested, tabled and plotted."""

import contextlib
import csv
import io
import json
import math

import pytest
from scipy.stats import ttest_ind

from generator.__main__ import main
from generator.data.cases import read_case
from generator.prompt_experiment import run_experiment
from generator.prompt_pairs import PromptPair
from generator.prompt_statistics import welch_greater
from tests.generator.diffusion.conftest import quick_generation_args

PAIRS = """
[[pair]]
name = "emphysema"
measure = "laa950_percent"
positive = "There is severe emphysema."
negative = "There is no emphysema."

[[pair]]
name = "effusion"
measure = "effusion_ml"
positive = "There are large pleural effusions."
negative = "There is no pleural effusion."
"""


def experiment_args(models, pairs, out, *extra):
    return [
        "prompt-experiment",
        *quick_generation_args(models),
        "--pairs",
        str(pairs),
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def experiment(models, tmp_path_factory):
    """A tiny run: two pairs, n = 3 per prompt, seeds 4..6, volumes kept; its output folder and printed text."""
    root = tmp_path_factory.mktemp("experiment")
    (root / "pairs.toml").write_text(PAIRS)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(
            experiment_args(models, root / "pairs.toml", root / "out", "--n", "3", "--seed", "4", "--keep-volumes")
        )
    assert status == 0
    return {"out": root / "out", "printed": printed.getvalue()}


def read_results(out):
    with (out / "results.csv").open() as f:
        return list(csv.DictReader(f))


def test_results_have_one_row_per_volume_with_pair_prompt_side_seed_and_value(experiment):
    rows = read_results(experiment["out"])
    assert list(rows[0]) == ["pair", "prompt", "side", "seed", "value"]
    assert len(rows) == 2 * 2 * 3
    assert {(r["pair"], r["side"], r["prompt"]) for r in rows} == {
        ("emphysema", "positive", "There is severe emphysema."),
        ("emphysema", "negative", "There is no emphysema."),
        ("effusion", "positive", "There are large pleural effusions."),
        ("effusion", "negative", "There is no pleural effusion."),
    }


def test_both_prompts_of_a_pair_are_sampled_with_the_same_seeds(experiment):
    rows = read_results(experiment["out"])
    for pair in ("emphysema", "effusion"):
        for side in ("positive", "negative"):
            assert [int(r["seed"]) for r in rows if r["pair"] == pair and r["side"] == side] == [4, 5, 6]


def test_the_summary_t_test_equals_scipys_on_the_same_values(experiment):
    rows = read_results(experiment["out"])
    summary = json.loads((experiment["out"] / "summary.json").read_text())
    assert summary["n"] == 3 and summary["seed"] == 4
    for pair in summary["pairs"]:
        values = {
            side: [float(r["value"]) for r in rows if r["pair"] == pair["pair"] and r["side"] == side]
            for side in ("positive", "negative")
        }
        expected = ttest_ind(values["positive"], values["negative"], alternative="greater", equal_var=False)
        if math.isfinite(expected.statistic):
            expected_values = (expected.statistic, expected.df, expected.pvalue)
            assert (pair["t"], pair["df"], pair["p"]) == pytest.approx(expected_values)
        else:
            assert (pair["t"], pair["df"], pair["p"]) == (None, None, None)
        assert pair["positive"]["mean"] == pytest.approx(sum(values["positive"]) / 3)
        assert pair["difference"] == pytest.approx(pair["positive"]["mean"] - pair["negative"]["mean"])
        assert pair["significant"] == (pair["p"] is not None and pair["p"] < 0.05)


def test_the_table_is_written_as_markdown_and_printed(experiment):
    table = (experiment["out"] / "summary.md").read_text()
    header = "| pair | measure | positive (mean ± sd) | negative (mean ± sd) | difference | t | df | p | p < 0.05 |"
    assert header in table
    assert "| emphysema | laa950_percent |" in table and "| effusion | effusion_ml |" in table
    assert table in experiment["printed"]


def test_the_plot_is_a_png(experiment):
    assert (experiment["out"] / "prompt-experiment.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kept_volumes_are_case_folders_named_by_pair_side_and_seed(experiment):
    folders = sorted(p.name for p in (experiment["out"] / "cases").iterdir())
    assert len(folders) == 12 and "effusion-negative-seed6" in folders
    assert (
        read_case(experiment["out"] / "cases" / "emphysema-positive-seed5").meta["prompt"]
        == "There is severe emphysema."
    )


def test_volumes_are_not_kept_unless_asked(phantoms, tmp_path):
    """A stand-in generator (phantoms as samples) keeps this about the output, not sampling."""
    cases = sorted(phantoms.iterdir())

    def source(prompts, seeds):
        for seed in seeds:
            case = read_case(cases[seed])
            case.meta["seed"] = seed
            yield case

    pair = PromptPair("effusion", "effusion_ml", "Large effusions.", "No effusion.")
    run_experiment([pair], tmp_path, n=2, seed=0, cases=source)
    assert not (tmp_path / "cases").exists() and (tmp_path / "results.csv").is_file()


def test_welch_greater_reproduces_a_published_example():
    """Wikipedia, "Welch's t-test", example 1: t = 2.46, df = 25.0, two-tailed p = 0.021 (so one-tailed 0.0107)."""
    a1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    a2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    result = welch_greater(a2, a1)
    assert round(result["t"], 2) == 2.46 and round(result["df"], 1) == 25.0 and round(2 * result["p"], 3) == 0.021


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
def test_an_undefined_t_test_is_null_not_nan():
    """Both standard deviations zero: scipy's t and p are NaN, which JSON cannot hold, and its df means nothing."""
    assert welch_greater([1.0, 1.0], [1.0, 1.0]) == {"t": None, "df": None, "p": None}


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '[[pair]]\nname = "x"\nmeasure = "volume"\npositive = "a"\nnegative = "b"\n',
            "[[pair]] 'x': unknown measure 'volume' "
            "(one of effusion_ml, ctr, laa950_percent, airway_mm3, effusion_ml_robust)",
        ),
        ('[[pair]]\nname = "x"\nmeasure = "ctr"\npositive = "a"\n', "[[pair]] 'x': missing key 'negative'"),
        (
            '[[pair]]\nname = "x"\nmeasure = "ctr"\npositive = ""\nnegative = "b"\n',
            "[[pair]] 'x': 'positive' must be a non-empty string",
        ),
        ('[[pair]\nname = "x"\n', "invalid TOML"),
        ('[pair]\nname = "x"\n', "[[pair]]: must be an array of tables"),
        ("", "[[pair]]: no pairs"),
    ],
)
def test_a_bad_pairs_file_exits_2_naming_the_file_and_key_without_a_traceback(content, message, tmp_path, capsys):
    pairs = tmp_path / "pairs.toml"
    pairs.write_text(content)
    missing = {"base": tmp_path / "no-base", "superres": tmp_path / "no-superres", "text": tmp_path / "no-text"}
    assert main(experiment_args(missing, pairs, tmp_path / "out", "--n", "3")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {pairs}: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
