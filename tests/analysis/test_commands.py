"""The command line: `python -m studies analyze` and `python -m studies power`."""

import json

from studies.cli import main


def test_analyze_writes_the_summary_tables_report_and_plots(export, tmp_path, capsys):
    out = tmp_path / "analysis"
    status = main(
        [
            "analyze",
            "--rankings",
            str(export["rankings"]),
            "--pathology",
            str(export["pathology"]),
            "--readers",
            str(export["readers"]),
            "--out",
            str(out),
        ]
    )
    assert status == 0
    names = {path.name for path in out.iterdir()}
    assert names >= {
        "summary.json",
        "mean_ranks.csv",
        "tests.csv",
        "pairwise.csv",
        "recognition.csv",
        "notes.csv",
        "report.md",
        "mean_ranks.png",
        "rank_frequencies.png",
        "recognition.png",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranking"]["airway"]["n_blocks"] == 24
    assert (out / "mean_ranks.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert "Kendall's W" in report and "Bonferroni" in report
    assert "lobes and fissures: 24 complete rankings" in capsys.readouterr().out


def test_analyze_reports_bad_input_without_a_traceback_and_writes_nothing(export, tmp_path, capsys):
    text = export["rankings"].read_text().splitlines()
    text[3] = text[3].rsplit(",", 2)[0] + ",9,41.5"
    export["rankings"].write_text("\n".join(text) + "\n")
    out = tmp_path / "analysis"
    status = main(["analyze", "--rankings", str(export["rankings"]), "--out", str(out)])
    assert status == 2
    assert "row 4: rank 9 is outside 1..4" in capsys.readouterr().err
    assert not out.exists()


def test_power_prints_power_per_test_and_the_readers_needed(tmp_path, capsys):
    args = [
        "power",
        "--sources",
        "real,medsyn,ha-gan",
        "--readers",
        "6",
        "--sets",
        "4",
        "--simulations",
        "200",
        "--max-readers",
        "8",
        "--max-sets",
        "5",
        "--effect",
        "real=1,medsyn=0.3,ha-gan=0",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "Friedman" in first and "real vs medsyn" in first and "readers for 80%" in first
    assert "scan-level" in first and "for a generator-level claim at 80% power with 6 readers you need" in first
    assert (tmp_path / "power.png").exists() and (tmp_path / "power.csv").exists()
    main(args)
    assert capsys.readouterr().out == first


def test_power_takes_effects_from_a_pilot_summary(export, tmp_path, capsys):
    out = tmp_path / "pilot"
    main(["analyze", "--rankings", str(export["rankings"]), "--out", str(out)])
    capsys.readouterr()
    assert (
        main(
            [
                "power",
                "--from",
                str(out / "summary.json"),
                "--structure",
                "airway",
                "--readers",
                "4",
                "--simulations",
                "100",
                "--max-readers",
                "5",
                "--max-sets",
                "4",
            ]
        )
        == 0
    )
    assert "medical-diffusion" in capsys.readouterr().out


def test_power_needs_sources_or_a_pilot(capsys):
    assert main(["power", "--readers", "5"]) == 2
    assert "give at least two --sources" in capsys.readouterr().err


def test_analyze_with_a_conover_post_hoc_writes_its_pairs(export, tmp_path, capsys):
    out = tmp_path / "analysis"
    assert main(["analyze", "--rankings", str(export["rankings"]), "--posthoc", "conover", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    pairs = summary["ranking"]["airway"]["posthoc"]
    assert len(pairs) == 6 and all(pair["method"] == "conover" and 0 <= pair["p_adjusted"] <= 1 for pair in pairs)
    assert (out / "posthoc.csv").read_text().splitlines()[0] == "structure,a,b,method,p_adjusted"


def test_analyze_skips_the_post_hoc_test_of_a_single_ranking_and_says_why(export, rankings, tmp_path, capsys):
    """One complete block gives Conover's test zero degrees of freedom (scikit-posthocs: NaN); no traceback."""
    one_set_each = rankings[(rankings["reader"] == "reader-01") & rankings["set"].str.endswith("-1")]
    one_set_each.to_csv(export["rankings"], index=False)
    out = tmp_path / "analysis"
    assert main(["analyze", "--rankings", str(export["rankings"]), "--posthoc", "conover", "--out", str(out)]) == 0
    airway = json.loads((out / "summary.json").read_text())["ranking"]["airway"]
    assert airway["n_blocks"] == 1 and airway["posthoc"] == []
    assert airway["posthoc_skipped"] == "the conover post-hoc test needs at least 2 complete blocks, found 1"
    assert "airway: 1 complete rankings" in capsys.readouterr().out
    assert not (out / "posthoc.csv").exists()


def test_power_at_no_effect_prints_each_tests_type_i_error_and_warns_above_alpha(capsys):
    args = ["power", "--sources", "a,b,c,d", "--effect", "a=0,b=0,c=0,d=0", "--reader-sd", "1.0"]
    assert main([*args, "--simulations", "400", "--max-readers", "10", "--max-sets", "3"]) == 0
    out = capsys.readouterr().out
    assert "test" in out and "type-I" in out.splitlines()[2]
    assert "warning: Friedman: type-I error" in out and "above α = 0.05" in out
    assert "warning: crossed" not in out


def test_power_estimates_effects_and_both_variance_components_from_a_pilot_export(export, capsys):
    args = ["power", "--pilot", str(export["rankings"]), "--structure", "airway", "--readers", "4"]
    assert main([*args, "--simulations", "100", "--max-readers", "5", "--max-sets", "4"]) == 0
    out = capsys.readouterr().out
    assert "(airway: 6 readers × 4 sets): reader SD ≈" in out and "scan SD ≈" in out


def test_analyze_with_a_design_refuses_answers_that_do_not_fit_naming_the_file(export, tmp_path, capsys):
    from tests.analysis.test_design import make_design

    design = make_design()
    design.loc[design["source"] == "medsyn", "source"] = "MedSyn-v2"
    design.to_csv(tmp_path / "design.csv", index=False)
    out = tmp_path / "analysis"
    status = main(
        ["analyze", "--rankings", str(export["rankings"]), "--design", str(tmp_path / "design.csv"), "--out", str(out)]
    )
    assert status == 2
    assert f"source 'medsyn' is not a source of the design ({tmp_path / 'design.csv'} has:" in capsys.readouterr().err
    assert not out.exists()
