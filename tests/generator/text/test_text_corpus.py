"""read_corpus: the reports under --data, from case folders or loose .txt files."""

import pytest

from generator.text.corpus import MIN_REPORTS, read_corpus
from generator.text.errors import TextError
from tests.generator.text.conftest import example_report, write_reports


def test_it_reads_report_txt_from_case_folders(tmp_path):
    write_reports(tmp_path, [example_report(f"Finding {i}.", "Normal.") for i in range(MIN_REPORTS)])
    corpus = read_corpus(tmp_path)
    assert corpus.names[0] == "case-0000/report.txt"
    assert corpus.sections[3].findings == "Finding 3."


def test_it_reads_loose_txt_reports_without_images(tmp_path):
    for i in range(MIN_REPORTS):
        (tmp_path / f"r{i:02d}.txt").write_text(example_report(f"Finding {i}.", "Normal."), encoding="utf-8")
    assert read_corpus(tmp_path).names == [f"r{i:02d}.txt" for i in range(MIN_REPORTS)]


def test_it_skips_and_lists_reports_without_an_impression(tmp_path):
    write_reports(tmp_path, [example_report()] * MIN_REPORTS + ["FINDINGS: Only findings here."])
    corpus = read_corpus(tmp_path)
    assert len(corpus.sections) == MIN_REPORTS
    assert corpus.skipped == [f"case-{MIN_REPORTS:04d}/report.txt"]


def test_it_rejects_a_folder_without_reports(tmp_path):
    with pytest.raises(TextError, match="no reports found"):
        read_corpus(tmp_path)


def test_it_rejects_a_path_that_is_not_a_folder(tmp_path):
    with pytest.raises(TextError, match="not a folder"):
        read_corpus(tmp_path / "missing")


def test_it_rejects_too_few_usable_reports_and_says_how_many(tmp_path):
    write_reports(tmp_path, [example_report()] * 3 + ["no headings at all"])
    with pytest.raises(TextError, match=f"3 of 4 reports .* at least {MIN_REPORTS}"):
        read_corpus(tmp_path)


def test_it_names_a_file_that_is_not_utf8(tmp_path):
    write_reports(tmp_path, [example_report()] * MIN_REPORTS)
    (tmp_path / "bad.txt").write_bytes(b"FINDINGS: \xff\xfe")
    with pytest.raises(TextError, match="bad.txt: not UTF-8"):
        read_corpus(tmp_path)
