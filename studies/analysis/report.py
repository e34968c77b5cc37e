"""report.md: the numbers of summary.json written as a results section (the paper's V-F-3 is the model)."""

from __future__ import annotations

from studies.analysis.kendall import interpret_w

ALPHA = 0.05


def format_p(p: float) -> str:
    """APA style: "p < .001", else three decimals without the leading zero ("p = .056")."""
    if p < 0.001:
        return "p < .001"
    return f"p = {p:.3f}".replace("0.", ".", 1) if p < 1 else "p = 1.000"


def report_markdown(summary: dict, title: str = "Reader study") -> str:
    """The whole report: readers, recognition, then one paragraph per ranked structure."""
    parts = [f"# {title}: results", ""]
    if summary.get("readers"):
        parts += [readers_paragraph(summary["readers"]), ""]
    if summary.get("pathology"):
        parts += ["## Pathology recognition", "", recognition_paragraph(summary["pathology"]), ""]
    if summary["ranking"]:
        parts += ["## Anatomical feasibility", "", _method_sentence(summary), ""]
    for structure, result in summary["ranking"].items():
        parts += [f"### {structure}", "", structure_paragraph(structure, result, summary.get("reference")), ""]
    return "\n".join(parts)


def readers_paragraph(readers: dict) -> str:
    """Who took part and how long it took."""
    experience, minutes = readers["experience"], readers["minutes"]
    text = f"{readers['count']} readers took part; {readers['finished']} finished."
    if experience["n"]:
        text += (
            f" Their experience ranged from {experience['min']:g} to {experience['max']:g} years "
            f"(median {experience['median']:g})."
        )
    levels = [f"{count} {level}" for level, count in experience["by_level"].items() if count]
    if levels:
        text += f" Levels: {', '.join(levels)}."
    if minutes["mean"] is not None:
        sd = f" (SD = {minutes['sd']:.2f} minutes)" if minutes["sd"] is not None else ""
        text += f" The study took {minutes['mean']:.2f} minutes on average{sd}."
    return text


def recognition_paragraph(pathology: dict) -> str:
    """Overall and per-source accuracy with Wilson intervals, then per condition."""
    overall = pathology["overall"]
    text = (
        f"Readers named the finding correctly in {overall['correct']} of {overall['n']} answers ({_percent(overall)})."
    )
    by_source = [f"{source}: {r['correct']}/{r['n']} ({_percent(r)})" for source, r in pathology["by_source"].items()]
    by_truth = [f"{truth}: {r['correct']}/{r['n']}" for truth, r in pathology["by_truth"].items()]
    return f"{text} By source: {'; '.join(by_source)}. By true finding: {'; '.join(by_truth)}."


def structure_paragraph(structure: str, result: dict, reference: str | None) -> str:
    """Mean ranks, Friedman, the significant and non-significant pairs after correction, and W with its reading."""
    if result["friedman"] is None:
        return f"No complete ranking of {structure} yet ({result['n_incomplete']} incomplete)."
    order = sorted(result["mean_rank"], key=lambda s: result["mean_rank"][s])
    means = ", ".join(f"{source} {result['mean_rank'][source]:.2f}" for source in order)
    f, w = result["friedman"], result["kendall_w"]
    text = (
        f"Over {result['n_blocks']} complete rankings, the mean ranks (1 = best preserved) were {means}. "
        f"The Friedman test {'found' if f['p'] <= ALPHA else 'did not find'} a difference between sources "
        f"(χ²({f['df']}) = {f['statistic']:.2f}, {format_p(f['p'])})."
    )
    if result["n_incomplete"]:
        text += f" {result['n_incomplete']} incomplete ranking(s) were left out."
    pairs = result["pairwise"]
    if reference is not None:
        pairs = [pair for pair in pairs if reference in (pair["a"], pair["b"])] + [
            pair for pair in pairs if reference not in (pair["a"], pair["b"])
        ]
    significant = [_pair(pair, result) for pair in pairs if pair["p_bonferroni"] <= ALPHA]
    not_significant = [_pair(pair, result) for pair in pairs if pair["p_bonferroni"] > ALPHA]
    if significant:
        text += f" After Bonferroni correction, {'; '.join(significant)}."
    if not_significant:
        text += f" Not significant after correction: {'; '.join(not_significant)}."
    text += (
        f" Kendall's W = {w['w']:.3f} ({format_p(w['p'])}) indicates {interpret_w(w['w'])} agreement among the readers."
    )
    return text


def _pair(pair: dict, result: dict) -> str:
    """ "a was ranked better than b (p = ...)" or "a vs b (p = ...)" for a non-significant pair."""
    a, b = pair["a"], pair["b"]
    p = format_p(pair["p_bonferroni"])
    if pair["p_bonferroni"] > ALPHA:
        return f"{a} vs {b} ({p})"
    better, worse = (a, b) if result["mean_rank"][a] < result["mean_rank"][b] else (b, a)
    return f"{better} was ranked better than {worse} ({p})"


def _method_sentence(summary: dict) -> str:
    """How the ranks were analysed, so the paragraph can be cited as is."""
    unit = (
        "each reader's ranking of one set"
        if summary.get("blocks", "set") == "set"
        else "each reader's ranks averaged over sets"
    )
    return (
        "Ranks were compared with the Friedman test (blocks: " + unit + "), pairs of sources with two-sided "
        "Wilcoxon signed-rank tests, Bonferroni-corrected for all pairs, and agreement with Kendall's "
        f"coefficient of concordance W; significance at p ≤ {ALPHA}."
    )


def _percent(result: dict) -> str:
    """ "90.0 %, 95 % CI 59.6–98.2 %"."""
    low, high = result["ci95"]
    return f"{100 * result['accuracy']:.1f} %, 95 % CI {100 * low:.1f}–{100 * high:.1f} %"
