"""CORE-10: ten 0–4 psychological-distress items, items 2 and 3 reverse-keyed, item 6 the risk item.

Scoring after Barkham et al. (2013): total = sum of the ten items after reversal (0–40); with
exactly one item missing the total is prorated to 10 x sum / 9 (one decimal), with two or more
it is not scoreable. Bands on the (possibly prorated) total have inclusive lower bounds.

Band names follow the severity levels of Barkham et al. (2013) as the project's instrument notes
fix them: one band 0–10 named "healthy/low-level" (the paper's healthy and low-level ranges taken
together, all below the clinical cut-off of 11), then mild 11–14, moderate 15–19,
moderate-to-severe 20–24 and severe 25–40. Version 1.1.0 renamed the first band from
`healthy` to `healthy_low_level`; scores of 1.0.0 keep their name.
"""

from decimal import Decimal

from questionnaires.contract import AlertRule, AnswerOption, Band, Example, Item, Questionnaire, Scoring

REVERSE = ("2", "3")
RISK_ITEM = "6"

OPTIONS = (
    AnswerOption(0, "Not at all"),
    AnswerOption(1, "Only occasionally"),
    AnswerOption(2, "Sometimes"),
    AnswerOption(3, "Often"),
    AnswerOption(4, "Most or all of the time"),
)

ITEMS = tuple(
    Item(link_id=str(number), label=f"Item {number}" + (" (risk)" if str(number) == RISK_ITEM else ""),
         options=OPTIONS)
    for number in range(1, 11)
)


def _answers(*values: int | None) -> dict[str, int]:
    """Answers in form order; None leaves that item out."""
    return {str(number): value for number, value in enumerate(values, start=1) if value is not None}


EXAMPLES = (
    Example(description="All items 0: items 2 and 3 reverse to 4, so the total is 8.",
            answers=_answers(*[0] * 10), total=Decimal(8), band="healthy_low_level"),
    Example(description="All items 4: items 2 and 3 reverse to 0, so 32; item 6 raises risk.",
            answers=_answers(*[4] * 10), total=Decimal(32), band="severe", flags=("risk",)),
    Example(description="The minimum: 0 everywhere except the reversed items 2 and 3 at 4.",
            answers=_answers(0, 4, 4, 0, 0, 0, 0, 0, 0, 0), total=Decimal(0), band="healthy_low_level"),
    Example(description="The maximum: 4 everywhere except the reversed items 2 and 3 at 0.",
            answers=_answers(4, 0, 0, 4, 4, 4, 4, 4, 4, 4), total=Decimal(40), band="severe", flags=("risk",)),
    Example(description="Total 10: top of healthy/low-level (items 2, 3 raw 4 score 0).",
            answers=_answers(2, 4, 4, 2, 2, 0, 2, 2, 0, 0), total=Decimal(10), band="healthy_low_level"),
    Example(description="Total 11: mild begins (and the clinical range).",
            answers=_answers(2, 4, 4, 2, 2, 0, 2, 2, 1, 0), total=Decimal(11), band="mild"),
    Example(description="Total 14: top of mild (item 2 raw 3 scores 1, item 3 raw 2 scores 2).",
            answers=_answers(2, 3, 2, 2, 2, 0, 2, 2, 1, 0), total=Decimal(14), band="mild"),
    Example(description="Total 15: moderate begins.",
            answers=_answers(2, 3, 2, 2, 2, 0, 2, 2, 1, 1), total=Decimal(15), band="moderate"),
    Example(description="Total 19: top of moderate.",
            answers=_answers(3, 2, 2, 3, 3, 0, 3, 2, 0, 1), total=Decimal(19), band="moderate"),
    Example(description="Total 20: moderate-to-severe begins; item 6 at 1 raises risk.",
            answers=_answers(3, 2, 2, 3, 3, 1, 3, 2, 0, 1), total=Decimal(20), band="moderate_to_severe",
            flags=("risk",)),
    Example(description="Total 24: top of moderate-to-severe.",
            answers=_answers(3, 1, 1, 3, 3, 0, 3, 3, 2, 1), total=Decimal(24), band="moderate_to_severe"),
    Example(description="Total 25: severe begins.",
            answers=_answers(3, 1, 1, 3, 3, 0, 3, 3, 2, 2), total=Decimal(25), band="severe"),
    Example(description="Item 10 missing, nine items sum to 20: prorated 10 x 20 / 9 = 22.2.",
            answers=_answers(2, 2, 2, 3, 3, 0, 3, 3, 2, None), total=Decimal("22.2"), band="moderate_to_severe"),
    Example(description="Item 1 missing, nine items sum to 10: prorated to 11.1, mild.",
            answers=_answers(None, 4, 4, 2, 2, 0, 2, 2, 2, 0), total=Decimal("11.1"), band="mild"),
)

CORE_10 = Questionnaire(
    id="core-10",
    version="1.1.0",
    title="CORE-10",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="sum",
        reverse=REVERSE,
        missing="prorate",
        max_missing=1,
        decimals=1,
        total_min=Decimal(0),
        total_max=Decimal(40),
        description=(
            "Total: sum of the ten items after reversing items 2 and 3 (4 - answer), 0–40; higher is more "
            "distress. With exactly one item missing the total is 10 x sum / 9, rounded half-up to one "
            "decimal; with two or more missing it cannot be scored. Bands (lower bound inclusive): below 11 "
            "healthy/low-level, 11–14.9 mild, 15–19.9 moderate, 20–24.9 moderate-to-severe, 25 or above severe."
        ),
    ),
    bands=(
        Band(
            name="healthy_low_level", lower=Decimal(0), upper=Decimal(11),
            label="Healthy/low-level (0 to below 11; Barkham et al. 2013)",
        ),
        Band(name="mild", lower=Decimal(11), upper=Decimal(15), label="Mild (11 to below 15)"),
        Band(name="moderate", lower=Decimal(15), upper=Decimal(20), label="Moderate (15 to below 20)"),
        Band(name="moderate_to_severe", lower=Decimal(20), upper=Decimal(25),
             label="Moderate to severe (20 to below 25)"),
        Band(name="severe", lower=Decimal(25), upper=Decimal(40), label="Severe (25 or above)"),
    ),
    band_cutoff_belongs_to="upper",
    alert_rules=(
        AlertRule(
            flag="risk",
            on="any_item",
            items=(RISK_ITEM,),
            comparison=">=",
            threshold=Decimal(1),
            priority="high",
            description="Item 6 (the risk item) answered 1 or more: assess risk now.",
        ),
    ),
    reference=(
        "Barkham, M., Bewick, B., Mullin, T., Gilbody, S., Connell, J., Cahill, J., Mellor-Clark, J., "
        "Richards, D., Unsworth, G. & Evans, C. (2013). The CORE-10: a short measure of psychological "
        "distress for routine use in the psychological therapies. Counselling and Psychotherapy Research "
        "13:3–13."
    ),
    license=(
        "© CORE System Trust; free to reproduce unmodified. The item text is not served by default; a "
        "clinic may supply it as a local text pack."
    ),
    text_allowed=False,
    recall_period="the last week",
    construct="symptom",
    direction="lower_is_better",
    # Clinical cut-off (caseness) 11 and reliable change 6 points: Barkham et al. (2013), as cited above.
    reliable_change=Decimal(6),
    clinical_cutoff=Decimal(11),
    clinical_cutoff_comparison=">=",
    copyright="© CORE System Trust.",
    examples=EXAMPLES,
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (CORE_10,)
