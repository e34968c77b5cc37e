"""parse_report and segments: Findings and Impression out of free-text reports."""

from generator.text.sections import Sections, parse_report, segments


def test_it_reads_findings_and_impression_under_their_headings():
    report = "FINDINGS:\nThere is a large right\npleural effusion.\n\nIMPRESSION:\nRight pleural effusion.\n"
    assert parse_report(report) == Sections("There is a large right pleural effusion.", "Right pleural effusion.")


def test_it_accepts_headings_in_any_case_with_text_on_the_same_line():
    report = "Findings: Heart size is normal.\nImpression: No acute abnormality."
    assert parse_report(report) == Sections("Heart size is normal.", "No acute abnormality.")


def test_it_leaves_out_other_parts_of_the_report():
    report = (
        "CLINICAL HISTORY: cough.\nTECHNIQUE: CT without contrast.\nFINDINGS: Small left effusion.\n"
        "IMPRESSION: Left pleural effusion.\nRECOMMENDATION: Follow-up CT."
    )
    assert parse_report(report) == Sections("Small left effusion.", "Left pleural effusion.")


def test_it_keeps_organ_subheadings_inside_the_findings():
    report = "FINDINGS:\nLUNGS: Clear.\nHEART: Enlarged.\nIMPRESSION: Cardiomegaly."
    assert parse_report(report).findings == "LUNGS: Clear. HEART: Enlarged."


def test_it_accepts_conclusion_as_the_impression():
    assert parse_report("FINDINGS: Clear lungs.\nCONCLUSION: Normal chest CT.").impression == "Normal chest CT."


def test_it_joins_a_section_that_appears_twice():
    report = "FINDINGS: Clear lungs.\nIMPRESSION: Normal.\nFINDINGS: Normal heart."
    assert parse_report(report) == Sections("Clear lungs. Normal heart.", "Normal.")


def test_it_finds_no_sections_in_a_bare_prompt():
    assert parse_report("There are large pleural effusions.") == Sections("", "")


def test_segments_are_findings_then_impression_for_a_full_report():
    assert segments("FINDINGS: Clear lungs.\nIMPRESSION: Normal.") == ("Clear lungs.", "Normal.")


def test_segments_fall_back_to_the_whole_text_for_a_bare_prompt():
    assert segments("There are large\npleural effusions. ") == ("There are large pleural effusions.",)


def test_segments_of_a_report_with_one_section_are_that_section():
    assert segments("TECHNIQUE: CT.\nIMPRESSION: Cardiomegaly.") == ("Cardiomegaly.",)


def test_segments_of_the_empty_report_are_one_empty_text():
    assert segments("") == ("",)
