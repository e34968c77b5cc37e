"""Counts in the report take the number of their noun: "1 reader", never "1 readers"."""

from studies.analysis.report import discrimination_line, readers_paragraph
from studies.analysis.wording import counted


def test_a_count_of_one_takes_the_singular_and_every_other_the_plural():
    assert [counted(n, "reader") for n in (0, 1, 2)] == ["0 readers", "1 reader", "2 readers"]
    assert counted(1, "analysis", "analyses") == "1 analysis" and counted(3, "analysis", "analyses") == "3 analyses"


def test_a_study_with_one_reader_says_1_reader():
    nobody = {"n": 0, "by_level": {}}
    text = readers_paragraph({"count": 1, "finished": 1, "experience": nobody, "minutes": {"mean": None}})
    assert text.startswith("1 reader took part; 1 finished.")
    text = readers_paragraph({"count": 0, "invited": 1, "finished": 0, "experience": nobody, "minutes": {"mean": None}})
    assert text.startswith("0 of 1 invited reader took part")


def test_one_answer_is_one_answer():
    assert discrimination_line({"n_answers": 1, "accuracy": 1.0, "auc": None}).startswith(
        "discrimination: 1 answer, accuracy"
    )
