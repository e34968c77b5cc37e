"""report.md: the numbers of summary.json written as a results section (the paper's V-F-3 is the model)."""

from __future__ import annotations

from studies.analysis.kendall import interpret_w
from studies.analysis.sources import by_source_order, in_pair_order, source_order

ALPHA = 0.05


def format_p(p: float) -> str:
    """APA style: "p < .001", else three decimals without the leading zero ("p = .056")."""
    if p < 0.001:
        return "p < .001"
    return f"p = {p:.3f}".replace("0.", ".", 1) if p < 1 else "p = 1.000"


METHODS = {"bonferroni": "Bonferroni", "holm": "Holm"}


def report_markdown(summary: dict, title: str = "Reader study") -> str:
    """The whole report: readers, reading time, recognition, then one paragraph per ranked structure; sources always
    in `source_order`."""
    parts, reference = [f"# {title}: results", ""], summary.get("reference")
    if summary.get("readers"):
        parts += [readers_paragraph(summary["readers"]), ""]
    if summary.get("reading_time"):
        parts += [reading_time_paragraph(summary["reading_time"], reference), ""]
    if summary.get("pathology"):
        parts += ["## Pathology recognition", "", recognition_paragraph(summary["pathology"], reference), ""]
    if summary["ranking"]:
        parts += ["## Anatomical feasibility", "", _method_sentence(summary), ""]
    adjustment = _adjustment(summary)
    everything = sum(
        len((result.get("scan_level") or {}).get("pairwise", [])) for result in summary["ranking"].values()
    )
    family = (summary.get("adjustment") or {}).get("family", "structure")
    for structure, result in summary["ranking"].items():
        parts += [
            f"### {structure}",
            "",
            structure_paragraph(structure, result, reference, adjustment),
            "",
        ]
        scan = scan_level_paragraph(result, adjustment, None if family == "structure" else everything, reference)
        if scan:
            parts += [scan, ""]
    return "\n".join(parts)


def reading_time_paragraph(times: list[dict], reference: str | None = None) -> str:
    """Median (IQR) seconds per task kind, then per set of rankings and per source of recognition answers."""
    words = {"ranking": "a ranking", "recognition": "a recognition answer"}
    overall = [f"{words[t['task']]} {_seconds(t)}" for t in times if t["group"] == "all"]
    text = f"Reading time, median (IQR) in seconds: {'; '.join(overall)}."
    by_set = [f"{t['value']} {_seconds(t)}" for t in times if t["group"] == "set"]
    per_source = by_source_order({t["value"]: t for t in times if t["group"] == "source"}, reference)
    by_source = [f"{source} {_seconds(t)}" for source, t in per_source.items()]
    if by_set:
        text += f" Per ranking set: {'; '.join(by_set)}."
    if by_source:
        text += f" Per recognition source: {'; '.join(by_source)}."
    return text


def _seconds(time: dict) -> str:
    """ "41.5 (30.2–55.0, n = 40)"."""
    return f"{time['median']:.1f} ({time['q1']:.1f}–{time['q3']:.1f}, n = {time['n']})"


def readers_paragraph(readers: dict) -> str:
    """Who took part and how long it took."""
    experience, minutes = readers["experience"], readers["minutes"]
    text = f"{readers['count']} readers took part; {readers['finished']} finished."
    if readers.get("invited", readers["count"]) != readers["count"]:
        text = f"{readers['count']} of {readers['invited']} invited readers took part; {readers['finished']} finished."
    if readers.get("not_started"):
        text += f" Not started: {', '.join(readers['not_started'])}."
    if readers.get("revoked"):
        text += f" Invitation revoked (left out of these counts): {', '.join(readers['revoked'])}."
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


def recognition_paragraph(pathology: dict, reference: str | None = None) -> str:
    """Overall and per-source accuracy with Wilson intervals, then per condition."""
    overall = pathology["overall"]
    text = (
        f"Readers named the finding correctly in {overall['correct']} of {overall['n']} answers ({_percent(overall)})."
    )
    by_source = [
        f"{source}: {r['correct']}/{r['n']} ({_percent(r)})"
        for source, r in by_source_order(pathology["by_source"], reference).items()
    ]
    by_truth = [f"{truth}: {r['correct']}/{r['n']} ({_percent(r)})" for truth, r in pathology["by_truth"].items()]
    return (
        f"{text} By source: {'; '.join(by_source)}. By true finding: {'; '.join(by_truth)}. "
        "Wilson intervals treat every answer as independent; the clustered intervals (two-way bootstrap over "
        "readers and scans) allow for answers by one reader, or on one scan, being alike, and are the ones to cite."
    )


def structure_paragraph(
    structure: str, result: dict, reference: str | None, adjustment: str = "Bonferroni correction within the structure"
) -> str:
    """Mean ranks, Friedman, the pairs after correction (claims about these scans), and W with its reading."""
    if result["friedman"] is None:
        return f"No complete ranking of {structure} yet ({result['n_incomplete']} incomplete)."
    order = source_order(result["mean_rank"], reference)
    means = ", ".join(f"{source} {result['mean_rank'][source]:.2f}" for source in order)
    f, w = result["friedman"], result["kendall_w"]
    text = (
        f"Over {result['n_blocks']} complete rankings, the mean ranks (1 = best preserved) were {means}. "
        f"The Friedman test {'found' if f['p'] <= ALPHA else 'did not find'} a difference between these scans "
        f"(χ²({f['df']}) = {f['statistic']:.2f}, {format_p(f['p'])}; readers as the sample, the same scans for "
        "every reader)."
    )
    if result["n_incomplete"]:
        text += f" {result['n_incomplete']} incomplete ranking(s) were left out."
    pairs = in_pair_order(result["pairwise"], order)
    significant = [_pair(pair, result) for pair in pairs if _adjusted(pair) <= ALPHA]
    not_significant = [_pair(pair, result) for pair in pairs if _adjusted(pair) > ALPHA]
    if significant:
        text += f" Wilcoxon signed-rank tests, after {adjustment}: {'; '.join(significant)} (these scans)."
    if not_significant:
        text += f" Not significant after correction: {'; '.join(not_significant)}."
    agreement = result.get("reader_agreement") or {}
    if agreement.get("w_mean") is not None:
        text += (
            f" Agreement among the readers of a set (Kendall's W across the readers who ranked the same scans) was "
            f"{interpret_w(agreement['w_mean'])} on Schmidt's (1997) scale: mean W = {agreement['w_mean']:.3f} "
            f"(range {agreement['w_min']:.3f}–{agreement['w_max']:.3f} over {len(agreement['w_by_set'])} sets)."
        )
    text += (
        f" Consistency across all {result['n_blocks']} rankings pooled (different scans, so not agreement among "
        f"readers): W = {w['w']:.3f} ({format_p(w['p'])}), {interpret_w(w['w'])}."
    )
    if result.get("posthoc"):
        posthoc = "; ".join(
            f"{pair['a']} vs {pair['b']} {format_p(pair['p_adjusted'])}"
            for pair in result["posthoc"]
            if pair["p_adjusted"] is not None
        )
        text += f" {result['posthoc'][0]['method'].capitalize()} post-hoc test (adjusted): {posthoc}."
    return text


def scan_level_paragraph(
    result: dict,
    adjustment: str = "Bonferroni correction within the structure",
    family_size: int | None = None,
    reference: str | None = None,
) -> str:
    """The claim about the generators: the scan-level permutation tests, and what this design can reach.

    family_size: the pairs corrected together (default: this structure's); the smallest adjusted p is at least
    the smallest possible p times it, under Bonferroni and Holm alike.
    """
    scan = result.get("scan_level")
    if not scan:
        return ""
    how = (
        f"exact over all {scan['permutations']:,} relabellings"
        if scan["exact"]
        else f"{scan['permutations']:,} seeded Monte Carlo relabellings, SE of p {scan['mc_se']:.4f}"
    )
    verdict = "differ" if scan["p"] <= ALPHA else "were not shown to differ"
    text = (
        f"Scan-level test (the claim about these generators, the scans being a sample of what each generator "
        f"makes: source labels permuted among the scans of each of {scan['sets']} sets, one relabelling for all "
        f"readers of a set; {how}): the generators {verdict} ({format_p(scan['p'])})."
    )
    order = source_order(result["mean_rank"], reference)
    pairs = [
        f"{pair['a']} vs {pair['b']} ({format_p(_adjusted(pair))})" for pair in in_pair_order(scan["pairwise"], order)
    ]
    if pairs:
        text += f" Pairs, after {adjustment}: {'; '.join(pairs)}."
    crossed = result.get("crossed")
    if crossed:
        text += (
            f" The permutation test holds the readers fixed (a reader's lasting taste for one generator counts as a "
            f"difference); with readers and scans both random (quasi-F of the ranks over the {crossed['readers']} "
            f"readers who ranked all {crossed['sets']} sets), F({crossed['df1']}, {crossed['df2']:.1f}) = "
            f"{crossed['F']:.2f}, {format_p(crossed['p'])}."
        )
    m = family_size or len(pairs)
    needed = _sets_for_a_pair(m)
    if scan["pairwise_exact"] and scan["pairwise_min_p"] > ALPHA:
        text += (
            f" With {scan['sets']} sets no pairwise scan-level p can fall below {scan['pairwise_min_p']:.3g} "
            f"(2 of {scan['pairwise_permutations']} swaps), so this design cannot show that any two generators "
            f"differ, however large the difference; corrected for {m} pairs, that takes at least {needed} sets per "
            "structure."
        )
    elif scan["pairwise_exact"] and pairs and scan["pairwise_min_p"] * m > ALPHA:
        text += (
            f" The smallest possible pairwise p, {scan['pairwise_min_p']:.3g}, is above {ALPHA} once corrected "
            f"for {m} pairs ({min(1.0, scan['pairwise_min_p'] * m):.3g}): no pair can be significant with "
            f"{scan['sets']} sets; that takes at least {needed} sets per structure."
        )
    return text


def _sets_for_a_pair(pairs: int) -> int:
    """The fewest sets S at which the smallest exact pairwise p, 2 / 2^S, survives correction for `pairs` pairs."""
    sets = 1
    while 2 * max(pairs, 1) / 2**sets > ALPHA:
        sets += 1
    return sets


def _adjusted(pair: dict) -> float:
    """The pair's p after the chosen adjustment (Bonferroni within the structure in summaries that predate it)."""
    return pair["p_adjusted"] if pair.get("p_adjusted") is not None else pair.get("p_bonferroni", pair["p"])


def _adjustment(summary: dict) -> str:
    """ "Holm correction over every structure's pairs" and the like, from summary["adjustment"]."""
    adjustment = summary.get("adjustment") or {"method": "bonferroni", "family": "structure"}
    family = "within the structure" if adjustment["family"] == "structure" else "over every structure's pairs"
    return f"{METHODS[adjustment['method']]} correction {family}"


def _pair(pair: dict, result: dict) -> str:
    """ "a was ranked better than b (p = ...)" or "a vs b (p = ...)" for a non-significant pair."""
    a, b = pair["a"], pair["b"]
    p = format_p(_adjusted(pair))
    if _adjusted(pair) > ALPHA:
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
        "Two claims are tested apart. About these scans (readers are the sample; every reader ranked the same "
        "scans): the Friedman test (blocks: " + unit + ") and two-sided Wilcoxon signed-rank tests of each pair, "
        f"with {_adjustment(summary)}. About the generators (scans are a sample too): permutation tests in which "
        "the source labels are exchanged among the scans of each set (readers held fixed), and a quasi-F test "
        "with readers and scans both random. Agreement among readers is Kendall's W "
        f"across the readers of each set, read on Schmidt's (1997) scale; significance at p ≤ {ALPHA}."
    )


def _percent(result: dict) -> str:
    """ "90.0 %, 95 % CI 59.6–98.2 % (Wilson), 50.0–100.0 % (clustered)"."""
    low, high = result["ci95"]
    text = f"{100 * result['accuracy']:.1f} %, 95 % CI {100 * low:.1f}–{100 * high:.1f} % (Wilson)"
    if result.get("ci95_clustered"):
        low, high = result["ci95_clustered"]
        text += f", {100 * low:.1f}–{100 * high:.1f} % (clustered)"
    return text
