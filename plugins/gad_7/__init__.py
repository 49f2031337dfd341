"""Generalized Anxiety Disorder-7 (GAD-7): seven 0–3 anxiety items.

Scoring after Spitzer et al. (2006): total = sum of the seven items (0–21), severity bands at
5, 10 and 15; 10 or more screens positive.

Version 1.1.0 adopts the outcome conventions of NHS Talking Therapies (National Collaborating Centre
for Mental Health (2024). NHS Talking Therapies for anxiety and depression manual, v7): caseness at a
total of 8 or more (the clinical cut-off used for recovery, below the screening cut-off of 10) and a
reliable change of 4 points. Items, total and bands are unchanged; scores of 1.0.0 keep their version.
"""

from dataclasses import replace
from decimal import Decimal

from questionnaires.contract import LOINC, AnswerOption, Band, Code, Example, Item, Questionnaire, Scoring

FREQUENCY = (
    AnswerOption(0, "Not at all", Code(LOINC, "LA6568-5", "Not at all")),
    AnswerOption(1, "Several days", Code(LOINC, "LA6569-3", "Several days")),
    AnswerOption(2, "More than half the days", Code(LOINC, "LA6570-1", "More than half the days")),
    AnswerOption(3, "Nearly every day", Code(LOINC, "LA6571-9", "Nearly every day")),
)

# LOINC's item 68509-9 (GAD-7 item 2) is shared with other LOINC panels and carries its own answer list, whose
# third point is "More days than not" (LA18938-3) instead of "More than half the days" (LA6570-1). LOINC's GAD-7
# form 69737-5 uses that list for item 2: in its LHC-Forms rendering (uwcirg/fhir-questionnaires GAD-7.json, option
# prefix "2", ordinalValue 2) and in LOINC's PHQ-4 form 69724-3, which reuses the item. Both codes mean the GAD-7's
# third column, 2 points (Spitzer et al. 2006); the other six GAD-7 items use LOINC list LL358-3 (FREQUENCY) only.
FREQUENCY_ITEM_2 = (
    FREQUENCY[0],
    FREQUENCY[1],
    AnswerOption(
        2,
        "More than half the days",
        Code(LOINC, "LA6570-1", "More than half the days"),
        also_codes=(Code(LOINC, "LA18938-3", "More days than not"),),
    ),
    FREQUENCY[3],
)

# (label, published wording, item LOINC code). Item 6's code is LOINC's "last 4 weeks" term,
# the one LOINC's own GAD-7 panel uses.
SYMPTOMS = (
    ("nervousness", "Feeling nervous, anxious or on edge", "69725-0"),
    ("uncontrolled worry", "Not being able to stop or control worrying", "68509-9"),
    ("worrying too much", "Worrying too much about different things", "69733-4"),
    ("trouble relaxing", "Trouble relaxing", "69734-2"),
    ("restlessness", "Being so restless that it is hard to sit still", "69735-9"),
    ("irritability", "Becoming easily annoyed or irritable", "69689-8"),
    ("fear", "Feeling afraid as if something awful might happen", "69736-7"),
)

ITEMS = tuple(
    Item(
        link_id=str(number),
        label=f"Item {number} ({label})",
        text=text,
        options=FREQUENCY_ITEM_2 if number == 2 else FREQUENCY,
        code=Code(LOINC, code, text),
    )
    for number, (label, text, code) in enumerate(SYMPTOMS, start=1)
)


def _answers(*values: int) -> dict[str, int]:
    return {str(number): value for number, value in enumerate(values, start=1)}


EXAMPLES = (
    Example(description="All items 0: the minimum.", answers=_answers(*[0] * 7), total=Decimal(0), band="minimal"),
    Example(description="All items 3: the maximum.", answers=_answers(*[3] * 7), total=Decimal(21), band="severe"),
    Example(description="Total 4: top of minimal.", answers=_answers(1, 1, 1, 1, 0, 0, 0), total=Decimal(4),
            band="minimal"),
    Example(description="Total 5: mild begins.", answers=_answers(1, 1, 1, 1, 1, 0, 0), total=Decimal(5),
            band="mild"),
    Example(description="Total 9: top of mild.", answers=_answers(2, 2, 2, 1, 1, 1, 0), total=Decimal(9),
            band="mild"),
    Example(description="Total 10: moderate begins (screen positive).", answers=_answers(2, 2, 2, 2, 1, 1, 0),
            total=Decimal(10), band="moderate"),
    Example(description="Total 14: top of moderate.", answers=_answers(3, 3, 2, 2, 2, 1, 1), total=Decimal(14),
            band="moderate"),
    Example(description="Total 15: severe begins.", answers=_answers(3, 3, 3, 2, 2, 1, 1), total=Decimal(15),
            band="severe"),
)

GAD_7 = Questionnaire(
    id="gad-7",
    version="1.0.0",
    title="Generalized Anxiety Disorder-7 (GAD-7)",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="sum",
        missing="reject",
        total_min=Decimal(0),
        total_max=Decimal(21),
        description=(
            "Over the last 2 weeks, how often have you been bothered by the following problems? "
            "Total: sum of the seven items (0–21); higher is more severe. Bands: 0–4 minimal, 5–9 mild, "
            "10–14 moderate, 15–21 severe; 10 or more screens positive. Every item is required."
        ),
    ),
    bands=(
        Band(name="minimal", lower=Decimal(0), upper=Decimal(5), label="Minimal (0–4)"),
        Band(name="mild", lower=Decimal(5), upper=Decimal(10), label="Mild (5–9)"),
        Band(name="moderate", lower=Decimal(10), upper=Decimal(15), label="Moderate (10–14)"),
        Band(name="severe", lower=Decimal(15), upper=Decimal(21), label="Severe (15–21)"),
    ),
    band_cutoff_belongs_to="upper",
    reference=(
        "Spitzer, R. L., Kroenke, K., Williams, J. B. W. & Löwe, B. (2006). A brief measure for assessing "
        "generalized anxiety disorder: the GAD-7. Archives of Internal Medicine 166:1092–1097."
    ),
    license="Public domain (Pfizer Inc.): no permission required to reproduce, translate, display or distribute.",
    text_allowed=True,
    instructions="Over the last 2 weeks, how often have you been bothered by the following problems?",
    recall_period="the last 2 weeks",
    construct="symptom",
    direction="lower_is_better",
    clinical_cutoff=Decimal(10),
    clinical_cutoff_comparison=">=",
    code=Code(LOINC, "69737-5", "Generalized anxiety disorder 7 item (GAD-7)"),
    total_code=Code(LOINC, "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score"),
    copyright=(
        "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
        "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or "
        "distribute."
    ),
    examples=EXAMPLES,
)

NHS_TALKING_THERAPIES = (
    "National Collaborating Centre for Mental Health (2024). NHS Talking Therapies for anxiety and depression "
    "manual, version 7. London: NHS England (caseness and reliable change of the PHQ-9 and GAD-7)."
)

GAD_7_1_1 = replace(
    GAD_7,
    version="1.1.0",
    # Caseness at >= 8 and reliable change of 4 points: NHS Talking Therapies manual (v7).
    reliable_change=Decimal(4),
    clinical_cutoff=Decimal(8),
    clinical_cutoff_comparison=">=",
    scoring=replace(
        GAD_7.scoring,
        description=GAD_7.scoring.description.replace(
            "10 or more screens positive.", "10 or more screens positive; caseness for recovery is 8 or more."
        ),
    ),
    reference=f"{GAD_7.reference} Caseness (>= 8) and reliable change (4 points): {NHS_TALKING_THERAPIES}",
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (GAD_7_1_1,)
"""Only the current version is loaded (as for CORE-10 1.1.0); stored 1.0.0 scores keep their version row."""
