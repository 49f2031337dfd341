"""Patient Health Questionnaire-9 (PHQ-9): nine 0–3 depression items plus an unscored difficulty item.

Scoring after Kroenke et al. (2001): total = sum of items 1–9 (0–27), severity bands at 5, 10, 15
and 20; item 9 (thoughts of death or self-harm) at 1 or more raises `risk` whatever the total.

Version 1.1.0 adds the outcome conventions of NHS Talking Therapies (National Collaborating Centre
for Mental Health (2024). NHS Talking Therapies for anxiety and depression manual, v7, appendix on
measuring recovery): caseness at a total of 10 or more, and a reliable change of 6 points. Scores of
1.0.0 keep their meaning: the items, total and bands are unchanged.
"""

from dataclasses import replace
from decimal import Decimal

from questionnaires.contract import LOINC, AlertRule, AnswerOption, Band, Code, Example, Item, Questionnaire, Scoring

FREQUENCY = (
    AnswerOption(0, "Not at all", Code(LOINC, "LA6568-5", "Not at all")),
    AnswerOption(1, "Several days", Code(LOINC, "LA6569-3", "Several days")),
    AnswerOption(2, "More than half the days", Code(LOINC, "LA6570-1", "More than half the days")),
    AnswerOption(3, "Nearly every day", Code(LOINC, "LA6571-9", "Nearly every day")),
)

DIFFICULTY = (
    AnswerOption(0, "Not difficult at all", Code(LOINC, "LA6572-7", "Not difficult at all")),
    AnswerOption(1, "Somewhat difficult", Code(LOINC, "LA6573-5", "Somewhat difficult")),
    AnswerOption(2, "Very difficult", Code(LOINC, "LA6575-0", "Very difficult")),
    AnswerOption(3, "Extremely difficult", Code(LOINC, "LA6574-3", "Extremely difficult")),
)

# LOINC's PHQ-9 form 44249-1 uses answer list LL358-3 (FREQUENCY) for all nine items and the DIFFICULTY codes for
# 69722-7; its LHC-Forms rendering (uwcirg/fhir-questionnaires CIRG-PHQ-9.json) has no other answer code for any
# of them, so, unlike GAD-7 item 2, no item here takes a second LOINC list.

# (label, published wording, item LOINC code); each is asked "over the last 2 weeks".
SYMPTOMS = (
    ("interest", "Little interest or pleasure in doing things", "44250-9"),
    ("mood", "Feeling down, depressed, or hopeless", "44255-8"),
    ("sleep", "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
    ("energy", "Feeling tired or having little energy", "44254-1"),
    ("appetite", "Poor appetite or overeating", "44251-7"),
    (
        "self-worth",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
        "44258-2",
    ),
    (
        "concentration",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "44252-5",
    ),
    (
        "psychomotor",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
        "fidgety or restless that you have been moving around a lot more than usual",
        "44253-3",
    ),
    (
        "thoughts of death or self-harm",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
        "44260-8",
    ),
)

ITEMS = (
    *(
        Item(
            link_id=str(number),
            label=f"Item {number} ({label})",
            text=text,
            options=FREQUENCY,
            code=Code(LOINC, code, text),
        )
        for number, (label, text, code) in enumerate(SYMPTOMS, start=1)
    ),
    Item(
        link_id="10",
        label="Difficulty (not scored)",
        text=(
            "If you checked off any problems, how difficult have these problems made it for you to do your "
            "work, take care of things at home, or get along with other people?"
        ),
        required=False,
        scored=False,
        options=DIFFICULTY,
        code=Code(LOINC, "69722-7", "How difficult have these problems made it for you"),
    ),
)


def _answers(*values: int, difficulty: int | None = None) -> dict[str, int]:
    answers = {str(number): value for number, value in enumerate(values, start=1)}
    if difficulty is not None:
        answers["10"] = difficulty
    return answers


EXAMPLES = (
    Example(description="All items 0: the minimum.", answers=_answers(*[0] * 9), total=Decimal(0),
            band="none_minimal"),
    Example(description="All items 3: the maximum, item 9 raises risk.", answers=_answers(*[3] * 9, difficulty=3),
            total=Decimal(27), band="severe", flags=("risk",)),
    Example(description="Total 4: top of none_minimal.", answers=_answers(1, 1, 1, 1, 0, 0, 0, 0, 0),
            total=Decimal(4), band="none_minimal"),
    Example(description="Total 5: mild begins.", answers=_answers(1, 1, 1, 1, 1, 0, 0, 0, 0),
            total=Decimal(5), band="mild"),
    Example(description="Total 9: top of mild.", answers=_answers(2, 2, 2, 2, 1, 0, 0, 0, 0),
            total=Decimal(9), band="mild"),
    Example(description="Total 10: moderate begins (screen positive); the difficulty item is not counted.",
            answers=_answers(2, 2, 2, 2, 2, 0, 0, 0, 0, difficulty=3), total=Decimal(10), band="moderate"),
    Example(description="Total 14: top of moderate.", answers=_answers(3, 3, 2, 2, 2, 2, 0, 0, 0),
            total=Decimal(14), band="moderate"),
    Example(description="Total 15: moderately severe begins.", answers=_answers(3, 3, 3, 2, 2, 2, 0, 0, 0),
            total=Decimal(15), band="moderately_severe"),
    Example(description="Total 19: top of moderately severe.", answers=_answers(3, 3, 3, 3, 3, 2, 2, 0, 0),
            total=Decimal(19), band="moderately_severe"),
    Example(description="Total 20: severe begins.", answers=_answers(3, 3, 3, 3, 3, 3, 2, 0, 0),
            total=Decimal(20), band="severe"),
    Example(description="Item 9 at 1 with a total of 1: risk independent of the total.",
            answers=_answers(0, 0, 0, 0, 0, 0, 0, 0, 1), total=Decimal(1), band="none_minimal", flags=("risk",)),
)

PHQ_9 = Questionnaire(
    id="phq-9",
    version="1.0.0",
    title="Patient Health Questionnaire-9 (PHQ-9)",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="sum",
        missing="reject",
        total_min=Decimal(0),
        total_max=Decimal(27),
        description=(
            "Over the last 2 weeks, how often have you been bothered by any of the following problems? "
            "Total: sum of items 1–9 (0–27); higher is more severe. Item 10 (difficulty) is optional and "
            "never in the total. Bands: 0–4 none-minimal, 5–9 mild, 10–14 moderate, 15–19 moderately "
            "severe, 20–27 severe; 10 or more screens positive. Items 1–9 are required."
        ),
    ),
    bands=(
        Band(name="none_minimal", lower=Decimal(0), upper=Decimal(5), label="None–minimal (0–4)"),
        Band(name="mild", lower=Decimal(5), upper=Decimal(10), label="Mild (5–9)"),
        Band(name="moderate", lower=Decimal(10), upper=Decimal(15), label="Moderate (10–14)"),
        Band(name="moderately_severe", lower=Decimal(15), upper=Decimal(20), label="Moderately severe (15–19)"),
        Band(name="severe", lower=Decimal(20), upper=Decimal(27), label="Severe (20–27)"),
    ),
    band_cutoff_belongs_to="upper",
    alert_rules=(
        AlertRule(
            flag="risk",
            on="any_item",
            items=("9",),
            comparison=">=",
            threshold=Decimal(1),
            priority="high",
            description="Item 9 (thoughts of death or self-harm) answered 1 or more: assess risk now.",
        ),
    ),
    reference=(
        "Kroenke, K., Spitzer, R. L. & Williams, J. B. W. (2001). The PHQ-9: validity of a brief depression "
        "severity measure. Journal of General Internal Medicine 16:606–613."
    ),
    license="Public domain (Pfizer Inc.): no permission required to reproduce, translate, display or distribute.",
    text_allowed=True,
    instructions="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    recall_period="the last 2 weeks",
    construct="symptom",
    direction="lower_is_better",
    clinical_cutoff=Decimal(10),
    clinical_cutoff_comparison=">=",
    code=Code(LOINC, "44249-1", "PHQ-9 quick depression assessment panel"),
    total_code=Code(LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
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

PHQ_9_1_1 = replace(
    PHQ_9,
    version="1.1.0",
    # Caseness at >= 10 and reliable change of 6 points: NHS Talking Therapies manual (v7).
    reliable_change=Decimal(6),
    clinical_cutoff=Decimal(10),
    clinical_cutoff_comparison=">=",
    reference=f"{PHQ_9.reference} Caseness (>= 10) and reliable change (6 points): {NHS_TALKING_THERAPIES}",
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (PHQ_9_1_1,)
"""Only the current version is loaded (as for CORE-10 1.1.0); stored 1.0.0 scores keep their version row."""
