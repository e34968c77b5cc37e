"""Free-text chest-CT reports for phantoms: Findings and Impression agreeing with the drawn findings.

Wording varies (several phrasings per finding and per negation, shuffled sentence order) while magnitudes
stay coarsely readable: small/moderate/large effusion, mild/marked cardiomegaly, mild/severe emphysema,
patchy/lobar consolidation. Normal cases say so.
"""

from __future__ import annotations

import numpy as np

EFFUSION = (
    "There is a {size} {side} pleural effusion{s}.",
    "{Size} {side} pleural effusion{s} {is} present.",
    "A {size} {side} pleural effusion{s} {is} seen layering dependently.",
)
NO_EFFUSION = (
    "No pleural effusion.",
    "There is no pleural effusion.",
    "No pleural effusion or pneumothorax.",
    "The pleural spaces are clear without effusion.",
)
CARDIOMEGALY = {
    "mild": ("There is mild cardiomegaly.", "The heart is mildly enlarged.", "Mild cardiomegaly."),
    "marked": ("There is marked cardiomegaly.", "The heart is markedly enlarged.", "Severe cardiomegaly."),
}
NO_CARDIOMEGALY = (
    "Heart size is normal.",
    "No cardiomegaly.",
    "The heart is normal in size.",
    "Normal heart size without pericardial effusion.",
)
CONSOLIDATION = {
    "patchy": (
        "Patchy consolidation in the {lobe} lobe.",
        "There is patchy airspace consolidation in the {lobe} lobe.",
        "Focal consolidation is seen in the {lobe} lobe.",
    ),
    "lobar": (
        "Dense consolidation of the {lobe} lobe with air bronchograms.",
        "There is lobar consolidation of the {lobe} lobe.",
        "The {lobe} lobe is consolidated with air bronchograms.",
    ),
}
NO_CONSOLIDATION = (
    "No focal consolidation.",
    "The lungs are clear without consolidation.",
    "There is no airspace consolidation.",
    "No consolidation.",
)
EMPHYSEMA = {
    "mild": (
        "There is mild centrilobular emphysema.",
        "Mild emphysematous changes in the upper lobes.",
        "Mild emphysema.",
    ),
    "severe": (
        "There is severe emphysema.",
        "Severe centrilobular emphysema throughout both lungs.",
        "Extensive emphysematous changes, severe.",
    ),
}
BULLAE = (
    "{Count} apical bulla{e} {is} noted.",
    "There {is} {count} bulla{e} in the upper lungs.",
    "Bullous changes with {count} bulla{e}.",
)
NO_EMPHYSEMA = ("No emphysema.", "There is no emphysema.", "No emphysema or bullae.")
OTHER = (
    ("The central airways are patent.", "The trachea and main bronchi are patent."),
    ("No mediastinal or hilar lymphadenopathy.", "The mediastinum is unremarkable."),
    ("No acute osseous abnormality.", "The visualized bones are intact."),
)
NORMAL_IMPRESSION = (
    "No acute cardiopulmonary abnormality.",
    "Normal CT of the chest.",
    "No acute intrathoracic process.",
)
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four"}


def report_for(findings: dict, rng: np.random.Generator) -> str:
    """A report with FINDINGS: and IMPRESSION: sections that states every drawn finding and negates the rest."""
    pick = lambda options: str(options[int(rng.integers(len(options)))])  # noqa: E731
    lungs, impression = [], []
    consolidation, emphysema = findings.get("consolidation"), findings.get("emphysema")
    effusion, heart = findings.get("pleural_effusion"), findings.get("cardiomegaly")
    if consolidation:
        lungs.append(pick(CONSOLIDATION[consolidation["pattern"]]).format(lobe=consolidation["lobe"]))
        impression.append(f"{consolidation['pattern'].capitalize()} {consolidation['lobe']} lobe consolidation.")
    else:
        lungs.append(pick(NO_CONSOLIDATION))
    if emphysema:
        lungs.append(pick(EMPHYSEMA[emphysema["severity"]]))
        bullous = ""
        if emphysema["bullae"]:
            n = emphysema["bullae"]
            words = {
                "count": NUMBERS[n],
                "Count": NUMBERS[n].capitalize(),
                "e": "e" if n > 1 else "",
                "is": "are" if n > 1 else "is",
            }
            lungs.append(pick(BULLAE).format(**words))
            bullous = " with bullae"
        impression.append(f"{emphysema['severity'].capitalize()} emphysema{bullous}.")
    else:
        lungs.append(pick(NO_EMPHYSEMA))
    if effusion:
        both = effusion["side"] == "bilateral"
        words = {
            "size": effusion["size"],
            "Size": effusion["size"].capitalize(),
            "side": effusion["side"],
            "s": "s" if both else "",
            "is": "are" if both else "is",
        }
        pleura = pick(EFFUSION).format(**words)
        impression.append(f"{effusion['size'].capitalize()} {effusion['side']} pleural effusion{words['s']}.")
    else:
        pleura = pick(NO_EFFUSION)
    if heart:
        cardiac = pick(CARDIOMEGALY[heart["grade"]])
        impression.append(f"{heart['grade'].capitalize()} cardiomegaly.")
    else:
        cardiac = pick(NO_CARDIOMEGALY)
    body = [*lungs, pleura, cardiac, *(pick(options) for options in OTHER)]
    order = rng.permutation(len(body) - 3)
    sentences = [body[i] for i in order] + body[-3:]
    if not impression:
        impression.append(pick(NORMAL_IMPRESSION))
    elif rng.random() < 0.5:
        impression.append(pick(NO_EFFUSION) if not effusion else pick(NO_CARDIOMEGALY) if not heart else "")
    return "FINDINGS:\n" + " ".join(sentences) + "\n\nIMPRESSION:\n" + " ".join(s for s in impression if s) + "\n"
