"""report.md: the numbers of summary.json written as a results section (the paper's V-F-3 is the model)."""

from __future__ import annotations

from studies.analysis.endpoints import WHAT
from studies.analysis.kendall import interpret_w
from studies.analysis.plan import DEFAULT_ALPHA
from studies.analysis.sources import by_source_order, in_pair_order, source_order
from studies.analysis.wording import counted

FEW_READERS = 5
"""Below this many readers the report warns that the AUC test ran slightly liberal in simulation."""


def format_p(p: float) -> str:
    """APA style: "p < .001", else three decimals without the leading zero ("p = .056")."""
    if p < 0.001:
        return "p < .001"
    return f"p = {p:.3f}".replace("0.", ".", 1) if p < 1 else "p = 1.000"


METHODS = {"bonferroni": "Bonferroni", "holm": "Holm", "none": "no"}
TASK_WORDS = {
    "ranking": "ranking",
    "recognition": "recognition",
    "rating": "realism rating",
    "discrimination": "real or synthetic",
}


def report_markdown(summary: dict, title: str = "Reader study") -> str:
    """The whole report: readers, reading time, recognition, then one paragraph per ranked structure; sources always
    in `source_order`."""
    parts, reference = [f"# {title}: results", ""], summary.get("reference")
    if summary.get("plan"):
        parts += plan_section(summary["plan"])
    checks = summary.get("data_checks") or {}
    if checks.get("reader_merges") or checks.get("notes"):
        parts += ["## The data", "", *[f"- {line}." for line in checks["reader_merges"] + checks["notes"]], ""]
    if summary.get("readers"):
        parts += [readers_paragraph(summary["readers"]), ""]
    if summary.get("reading_time"):
        parts += [reading_time_paragraph(summary["reading_time"], reference), ""]
    if summary.get("pathology"):
        parts += ["## Pathology recognition", "", recognition_paragraph(summary["pathology"], reference), ""]
    if summary.get("rating"):
        parts += ["## Realism rating", "", rating_paragraph(summary["rating"], task_alpha(summary, "rating")), ""]
    if summary.get("discrimination"):
        alpha = task_alpha(summary, "discrimination")
        parts += ["## Real or synthetic", "", discrimination_paragraph(summary["discrimination"], alpha), ""]
    alpha = task_alpha(summary, "ranking")
    if summary["ranking"]:
        parts += ["## Anatomical feasibility", "", _method_sentence(summary, alpha), ""]
    adjustment = _adjustment(summary)
    everything = sum(
        len((result.get("scan_level") or {}).get("pairwise", [])) for result in summary["ranking"].values()
    )
    family = (summary.get("adjustment") or {}).get("family", "structure")
    for structure, result in summary["ranking"].items():
        parts += [
            f"### {structure}",
            "",
            structure_paragraph(structure, result, reference, adjustment, alpha),
            "",
        ]
        scan = scan_level_paragraph(result, adjustment, None if family == "structure" else everything, reference, alpha)
        if scan:
            parts += [scan, ""]
    return "\n".join(parts)


def task_alpha(summary: dict, task: str) -> float:
    """The α a task's tests are read at: the plan's (summaries written before plans: the documented default)."""
    return ((summary.get("plan") or {}).get("tasks", {}).get(task) or {}).get("alpha", DEFAULT_ALPHA)


def plan_section(plan: dict) -> list[str]:
    """The pre-registered analysis first: where the plan came from, its primary and secondary endpoints judged at its
    α, interim looks, and every deviation from it; everything after it is labelled exploratory."""
    if plan["source"] == "defaults" or not plan["written"]:
        origin = (
            "No analysis plan was written for this study, so the documented defaults were used: "
            + "; ".join(
                f"{TASK_WORDS[task]}: {WHAT[entry['primary']]}, α = {entry['alpha']:g}, {entry['sided']}, "
                f"{METHODS[entry['correction']]} correction"
                for task, entry in plan["tasks"].items()
            )
            + "."
        )
    elif plan["frozen_at"]:
        origin = (
            f"The analysis follows the plan frozen when the study opened ({plan['frozen_at']}, SHA-256 "
            f"{plan['sha256'][:12]}…)."
        )
    else:
        origin = f"The analysis follows the plan of the study's {plan['source']} (not frozen by the platform)."
    parts = ["## Analysis plan", "", origin]
    if plan.get("rationale"):
        parts[-1] += f" Rationale: {plan['rationale']}"
    interim = plan.get("interim")
    if interim:
        taken = ", ".join(f"{look['fraction']:g}" for look in plan["looks"]) or "none"
        finals = {f"{entry['final_alpha']:.4g}" for entry in plan["tasks"].values() if entry["interim"]}
        parts[-1] += (
            f" Interim looks were allowed at information fractions {', '.join(f'{t:g}' for t in interim['looks'])} "
            f"of {interim['readers']} finished readers (Lan–DeMets O'Brien–Fleming spending); looks taken at: "
            f"{taken}; the final primary test is judged at α = {', '.join(sorted(finals))}."
        )
    for role in ("primary", "secondary"):
        rows = [row for row in plan["endpoints"] if row["role"] == role]
        if rows:
            parts += ["", f"### {role.capitalize()} endpoints", ""]
            parts += [f"- {_endpoint(row, plan['tasks'][row['task']])}" for row in rows]
    parts += ["", "### Deviations from the plan", ""]
    parts += [f"- {deviation}." for deviation in plan["deviations"]] or ["- None."]
    parts += [
        "",
        "Everything below is exploratory unless listed above as a primary or secondary endpoint: those p-values are "
        "not corrected for how many were computed.",
        "",
    ]
    return parts


def _endpoint(row: dict, entry: dict) -> str:
    """ "ranking, vessels: readers and scans random (quasi-F), p = .012 (Holm-adjusted: p = .024), two-sided;
    ≤ α = 0.05: significant"."""
    where = TASK_WORDS[row["task"]] + (f", {row['structure']}" if row["structure"] else "")
    text = f"{where}: {WHAT[row['test']]}"
    if row["decision"] == "not computed":
        return f"{text}: not computed ({row['why']})"
    if row["estimate"] is not None:
        text += f": {row['estimate']:.3f}"
        if row["ci95"]:
            text += f" (95 % CI {row['ci95'][0]:.3f}–{row['ci95'][1]:.3f})"
    if row["p"] is None:
        return text
    adjusted = (
        f" ({METHODS[entry['correction']]}-adjusted: {format_p(row['p_adjusted'])})"
        if entry["correction"] != "none" and row["p_adjusted"] != row["p"]
        else ""
    )
    sign = "≤" if row["decision"] == "significant" else ">"
    return f"{text}, {format_p(row['p'])}{adjusted}, {entry['sided']}; {sign} α = {row['alpha']:.4g}: {row['decision']}"


def plan_line(plan: dict) -> str:
    """One line for the terminal: where the plan came from, each primary endpoint's decision, deviations."""
    origin = "documented defaults (no plan written)" if not plan["written"] else f"plan from {plan['source']}"
    decisions = "; ".join(
        f"{row['task']}{'/' + row['structure'] if row['structure'] else ''} {row['test']}: {row['decision']}"
        for row in plan["endpoints"]
        if row["role"] == "primary"
    )
    deviations = f"; {len(plan['deviations'])} deviation(s) named in report.md" if plan["deviations"] else ""
    return f"analysis plan: {origin}; primary: {decisions or 'none analysed'}{deviations}"


def rating_paragraph(rating: dict, alpha: float = DEFAULT_ALPHA) -> str:
    """Scores per source, the scan-level comparison with its pairs, and the readers' agreement."""
    if not rating.get("n_ratings"):
        return f"There are {rating.get('note', 'no rating answers yet')}."
    scale = rating["scale"]
    means = "; ".join(
        f"{source} mean {r['mean']:.2f} (SD {_number(r['sd'])}), median {r['median']:g}, n = {r['n']} on "
        f"{r['scans']} scan(s)"
        for source, r in rating["by_source"].items()
    )
    text = (
        f"{counted(rating['n_readers'], 'reader')} gave {counted(rating['n_ratings'], 'realism rating')} of "
        f"{counted(rating['n_volumes'], 'scan')} "
        f"on a {scale}-point scale (1 = least realistic): {means}."
    )
    comparison = rating.get("comparison")
    if comparison:
        how = (
            f"exact over all {comparison['permutations']:,} labellings"
            if comparison["exact"]
            else f"{comparison['permutations']:,} seeded Monte Carlo labellings, SE of p {comparison['mc_se']:.4f}"
        )
        verdict = "differed" if comparison["p"] <= alpha else "were not shown to differ"
        text += (
            f" Scan-level permutation test (source labels permuted across the {comparison['scans']} rated scans, one "
            f"relabelling for every reader; statistic: the between-source spread of each scan's mean score; {how}): "
            f"the sources {verdict} ({format_p(comparison['p'])}). Readers are held fixed: a reader's lasting taste "
            "for one source's look counts as a difference."
        )
        pairs = [
            f"{pair['a']} vs {pair['b']} (difference {pair['difference']:+.2f}, {format_p(pair['p_adjusted'])})"
            for pair in comparison["pairwise"]
        ]
        if pairs:
            text += f" Pairs (permutation), after {METHODS[comparison['adjustment']]} correction: {'; '.join(pairs)}."
        crossed = comparison.get("crossed") or {}
        if crossed.get("p") is not None:
            text += (
                " With readers and scans both random (quasi-F of the scores over the "
                f"{counted(crossed['readers'], 'reader')} "
                f"who rated all {counted(crossed['scans_per_source'], 'scan')} of every source), F({crossed['df1']}, "
                f"{crossed['df2']:.1f}) = {crossed['F']:.2f}, {format_p(crossed['p'])}."
            )
        elif crossed.get("skipped"):
            text += f" No test with readers random too: it {crossed['skipped']}."
    agreement = rating["agreement"]
    if agreement["krippendorff_alpha"] is not None:
        text += f" Agreement among readers: Krippendorff's ordinal α = {agreement['krippendorff_alpha']:.3f}"
        if agreement["icc"] is not None:
            low, high = agreement["icc_ci95"]
            text += (
                f"; ICC = {agreement['icc']:.3f} (95 % CI {low:.2f} to {high:.2f}; {agreement['icc_kind']}) over the "
                f"{counted(agreement['icc_scans'], 'scan')} every one of the "
                f"{counted(agreement['icc_readers'], 'reader')} rated"
            )
            if agreement["icc_scans_left_out"]:
                text += (
                    f" ({counted(agreement['icc_scans_left_out'], 'scan')} rated by fewer readers left out of the ICC)"
                )
        text += "."
    return text


def discrimination_paragraph(result: dict, alpha: float = DEFAULT_ALPHA) -> str:
    """Accuracy, the study AUC with its interval and test against chance (and what not rejecting means), per
    source and per reader."""
    if not result.get("n_answers"):
        return f"There are {result.get('note', 'no discrimination answers yet')}."
    low, high = result["accuracy_ci95"]
    text = (
        f"{counted(result['n_readers'], 'reader')} told real from synthetic on {counted(result['n_volumes'], 'scan')} "
        f"({counted(result['n_answers'], 'answer')}): {100 * result['accuracy']:.1f} % correct "
        f"(95 % CI {100 * low:.1f}–{100 * high:.1f} %, two-way cluster-robust: allowing for answers clustered by "
        "reader and by scan)."
    )
    by_truth = result.get("by_truth", {})
    named = {"synthetic": "synthetic scans called synthetic (sensitivity)", "real": "real called real (specificity)"}
    rates = [
        f"{words} {100 * by_truth[truth]['accuracy']:.1f} % ({100 * by_truth[truth]['ci95_two_way'][0]:.1f}–"
        f"{100 * by_truth[truth]['ci95_two_way'][1]:.1f} %)"
        for truth, words in named.items()
        if truth in by_truth
    ]
    if rates:
        text += f" Of these, {'; '.join(rates)}."
    by_source = []
    for row in result["by_source"]:
        low, high = row["accuracy_ci95"]
        entry = f"{row['source']} ({row['truth']}) {100 * row['accuracy']:.1f} % ({100 * low:.1f}–{100 * high:.1f} %)"
        if row["auc_vs_real"] is not None:
            entry += f", AUC against the real scans {row['auc_vs_real']:.3f}"
        by_source.append(entry)
    if by_source:
        text += f" Correct by source: {'; '.join(by_source)}."
    if result["auc"] is None:
        return text + " No reader answered both real and synthetic scans, so no ROC analysis was possible."
    test = result["auc_test"]
    low, high = result["auc_ci95"]
    df = f"t({test['df']:.1f}) = {test['t']:.2f}, " if test["df"] is not None and test["t"] is not None else ""
    verdict = (
        "readers told synthetic from real better than chance"
        if result["auc_p"] <= alpha and result["auc"] > 0.5
        else "readers called real scans synthetic more often than the synthetic ones"
        if result["auc_p"] <= alpha
        else "readers were not shown to tell synthetic from real better than chance"
    )
    aucs = ", ".join(f"{row['reader']} {row['auc']:.3f}" for row in result["by_reader"] if row["auc"] is not None)
    text += (
        f" The confidence-signed answers (+confidence when synthetic, −confidence when real; synthetic the positive "
        f"class) gave each reader an empirical ROC AUC ({aucs}); their mean, the study AUC, was {result['auc']:.3f} "
        f"(95 % CI {low:.3f}–{high:.3f}; {test['method']}): {verdict} ({df}{format_p(result['auc_p'])}, two-sided, "
        "against AUC = 0.5)."
    )
    if result["n_readers"] < FEW_READERS:
        text += (
            f" With fewer than {counted(FEW_READERS, 'reader')} the test of AUC = 0.5 ran slightly liberal in "
            "simulation "
            "(6.3–6.6 % of null studies rejected at α = 5 % with 4 readers of differing skill; "
            "`python -m bench analysis-validity`)."
        )
    if result["auc_p"] > alpha:
        text += (
            " Not rejecting chance does not show the scans indistinguishable: the interval says which AUCs these "
            "data cannot rule out."
        )
    return text


def rating_line(rating: dict | None) -> str:
    """One line for the terminal: rating answers and the comparison's p (empty without a ratings file)."""
    if rating is None:
        return ""
    if not rating.get("n_ratings"):
        return f"ratings: {rating['note']}"
    line = f"ratings: {rating['n_ratings']} on a {rating['scale']}-point scale"
    if rating.get("comparison"):
        line += f"; scan-level permutation p = {rating['comparison']['p']:.4g}"
    alpha = rating["agreement"]["krippendorff_alpha"]
    return line + (f"; Krippendorff's α = {alpha:.3f}" if alpha is not None else "")


def discrimination_line(result: dict | None) -> str:
    """One line for the terminal: accuracy and the study AUC with its p (empty without a discrimination file)."""
    if result is None:
        return ""
    if not result.get("n_answers"):
        return f"discrimination: {result['note']}"
    line = f"discrimination: {counted(result['n_answers'], 'answer')}, accuracy {result['accuracy']:.3f}"
    if result["auc"] is not None:
        line += f"; AUC = {result['auc']:.3f} ({result['auc_ci95'][0]:.3f}–{result['auc_ci95'][1]:.3f}), "
        line += f"p = {result['auc_p']:.4g} against 0.5"
    return line


def _number(value: float | None) -> str:
    """Two decimals, or "–" where undefined."""
    return "–" if value is None else f"{value:.2f}"


def reading_time_paragraph(times: list[dict], reference: str | None = None) -> str:
    """Median (IQR) seconds per task kind, then per set of rankings and per source of each single-scan task."""
    words = {
        "ranking": "a ranking",
        "recognition": "a recognition answer",
        "rating": "a rating",
        "discrimination": "a real-or-synthetic judgement",
    }
    overall = [f"{words[t['task']]} {_seconds(t)}" for t in times if t["group"] == "all"]
    text = f"Reading time, median (IQR) in seconds: {'; '.join(overall)}."
    by_set = [f"{t['value']} {_seconds(t)}" for t in times if t["group"] == "set"]
    if by_set:
        text += f" Per ranking set: {'; '.join(by_set)}."
    for task in ("recognition", "rating", "discrimination"):
        rows = {t["value"]: t for t in times if t["group"] == "source" and t["task"] == task}
        by_source = [f"{source} {_seconds(t)}" for source, t in by_source_order(rows, reference).items()]
        if by_source:
            text += f" Per {SOURCE_WORDS[task]} source: {'; '.join(by_source)}."
    return text


SOURCE_WORDS = {"recognition": "recognition", "rating": "rated", "discrimination": "judged"}


def _seconds(time: dict) -> str:
    """ "41.5 (30.2–55.0, n = 40)"."""
    return f"{time['median']:.1f} ({time['q1']:.1f}–{time['q3']:.1f}, n = {time['n']})"


def readers_paragraph(readers: dict) -> str:
    """Who took part and how long it took."""
    experience, minutes = readers["experience"], readers["minutes"]
    text = f"{counted(readers['count'], 'reader')} took part; {readers['finished']} finished."
    if readers.get("invited", readers["count"]) != readers["count"]:
        invited = counted(readers["invited"], "invited reader")
        text = f"{readers['count']} of {invited} took part; {readers['finished']} finished."
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
    answers = counted(overall["n"], "answer")
    text = f"Readers named the finding correctly in {overall['correct']} of {answers} ({_percent(overall)})."
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
    structure: str,
    result: dict,
    reference: str | None,
    adjustment: str = "Bonferroni correction within the structure",
    alpha: float = DEFAULT_ALPHA,
) -> str:
    """Mean ranks, Friedman, the pairs after correction (claims about these scans), and W with its reading."""
    if result["friedman"] is None:
        return f"No complete ranking of {structure} yet ({result['n_incomplete']} incomplete)."
    order = source_order(result["mean_rank"], reference)
    means = ", ".join(f"{source} {result['mean_rank'][source]:.2f}" for source in order)
    f, w = result["friedman"], result["kendall_w"]
    text = (
        f"Over {result['n_blocks']} complete rankings, the mean ranks (1 = best preserved) were {means}. "
        f"The Friedman test {'found' if f['p'] <= alpha else 'did not find'} a difference between these scans as "
        f"these readers ranked them (χ²({f['df']}) = {f['statistic']:.2f}, {format_p(f['p'])}; each ranking a block, "
        "the same scans for every reader: a claim about these readers and these scans)."
    )
    if result["n_incomplete"]:
        text += f" {result['n_incomplete']} incomplete ranking(s) were left out."
    pairs = in_pair_order(result["pairwise"], order)
    significant = [_pair(pair, result, alpha) for pair in pairs if _adjusted(pair) <= alpha]
    not_significant = [_pair(pair, result, alpha) for pair in pairs if _adjusted(pair) > alpha]
    if significant:
        text += (
            f" Wilcoxon signed-rank tests, after {adjustment}: {'; '.join(significant)} (these scans, these readers)."
        )
    if not_significant:
        text += f" Not significant after correction: {'; '.join(not_significant)}."
    agreement = result.get("reader_agreement") or {}
    if agreement.get("w_mean") is not None:
        text += (
            f" Agreement among the readers of a set (Kendall's W across the readers who ranked the same scans) was "
            f"{interpret_w(agreement['w_mean'])} on Schmidt's (1997) scale: mean W = {agreement['w_mean']:.3f} "
            f"(range {agreement['w_min']:.3f}–{agreement['w_max']:.3f} over "
            f"{counted(len(agreement['w_by_set']), 'set')})."
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
    alpha: float = DEFAULT_ALPHA,
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
    verdict = "differ" if scan["p"] <= alpha else "were not shown to differ"
    text = (
        f"Scan-level test (the claim about these generators as these readers see them, the scans being a sample of "
        f"what each generator makes: source labels permuted among the scans of each of "
        f"{counted(scan['sets'], 'set')}, one relabelling for all readers of a set; {how}): for these readers the "
        f"generators {verdict} "
        f"({format_p(scan['p'])})."
    )
    order = source_order(result["mean_rank"], reference)
    pairs = [
        f"{pair['a']} vs {pair['b']} ({format_p(_adjusted(pair))})" for pair in in_pair_order(scan["pairwise"], order)
    ]
    if pairs:
        text += f" Pairs, after {adjustment}: {'; '.join(pairs)}."
    text += generalising_sentence(result.get("crossed"))
    m = family_size or len(pairs)
    needed = _sets_for_a_pair(m, alpha)
    if scan["pairwise_exact"] and scan["pairwise_min_p"] > alpha:
        text += (
            f" With {counted(scan['sets'], 'set')} no pairwise scan-level p can fall below "
            f"{scan['pairwise_min_p']:.3g} "
            f"(2 of {scan['pairwise_permutations']} swaps), so this design cannot show that any two generators "
            f"differ, however large the difference; corrected for {counted(m, 'pair')}, that takes at least "
            f"{counted(needed, 'set')} per "
            "structure."
        )
    elif scan["pairwise_exact"] and pairs and scan["pairwise_min_p"] * m > alpha:
        text += ()
    return text


def generalising_sentence(crossed: dict | None) -> str:
    """The claim about readers and scans like these (`studies.analysis.crossed`), or why the design declines it."""
    if not crossed:
        return ""
    text = (
        " The permutation test holds the readers fixed (a reader's lasting taste for one generator counts as a "
        "difference)."
    )
    if crossed.get("declined"):
        return text + f" No claim about readers and scans like these: {crossed['declined']}."
    alpha = crossed["alpha"]
    verdict = "differ" if crossed["p"] <= alpha else "were not shown to differ"
    f = "∞" if crossed["F"] is None else f"{crossed['F']:.2f}"
    df2 = "∞" if crossed["df2"] is None else f"{crossed['df2']:.1f}"
    return text + (
        f" For readers and scans like these (both a sample; all {crossed['rankings']} rankings of "
        f"{crossed['readers']} readers on {crossed['sets']} sets), the generators {verdict} ({format_p(crossed['p'])}, "
        f"at α = {alpha:g}; the largest of Clark's min F′({crossed['df1']}, {df2}) = {f}, "
        f"{format_p(crossed['p_min_f'])}, with readers and sets random, the scan-level and the reader-level "
        "permutation p: all three must reject)."
    )


def _sets_for_a_pair(pairs: int, alpha: float = DEFAULT_ALPHA) -> int:
    """The fewest sets S at which the smallest exact pairwise p, 2 / 2^S, survives correction for `pairs` pairs."""
    sets = 1
    while 2 * max(pairs, 1) / 2**sets > alpha:
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


def _pair(pair: dict, result: dict, alpha: float = DEFAULT_ALPHA) -> str:
    """ "a was ranked better than b (p = ...)" or "a vs b (p = ...)" for a non-significant pair."""
    a, b = pair["a"], pair["b"]
    p = format_p(_adjusted(pair))
    if _adjusted(pair) > alpha:
        return f"{a} vs {b} ({p})"
    better, worse = (a, b) if result["mean_rank"][a] < result["mean_rank"][b] else (b, a)
    return f"{better} was ranked better than {worse} ({p})"


def _method_sentence(summary: dict, alpha: float = DEFAULT_ALPHA) -> str:
    """How the ranks were analysed, so the paragraph can be cited as is."""
    unit = (
        "each reader's ranking of one set"
        if summary.get("blocks", "set") == "set"
        else "each reader's ranks averaged over sets"
    )
    return (
        "Three claims are tested apart. About these scans, for these readers (every reader ranked the same "
        "scans): the Friedman test (blocks: " + unit + ") and two-sided Wilcoxon signed-rank tests of each pair, "
        f"with {_adjustment(summary)}. About the generators for these readers (scans are a sample): permutation "
        "tests in which the source labels are exchanged among the scans of each set (readers held fixed). About "
        "readers and "
        "scans like these (both a sample): a test that rejects only where Clark's min F′ (readers and sets "
        "random, every ranking used), the scan-level test and the same permutation within each reader all reject. "
        "Agreement among readers is Kendall's W "
        f"across the readers of each set, read on Schmidt's (1997) scale; significance at p ≤ {alpha}."
    )


def _percent(result: dict) -> str:
    """ "90.0 %, 95 % CI 59.6–98.2 % (Wilson), 50.0–100.0 % (clustered)"."""
    low, high = result["ci95"]
    text = f"{100 * result['accuracy']:.1f} %, 95 % CI {100 * low:.1f}–{100 * high:.1f} % (Wilson)"
    if result.get("ci95_clustered"):
        low, high = result["ci95_clustered"]
        text += f", {100 * low:.1f}–{100 * high:.1f} % (clustered)"
    return text
