"""Session Rating Scale v3 (SRS): four 0–10 visual-analogue marks on the session's alliance.

Scoring after Duncan, Miller et al. (2003): total = sum of the four marks (0–40, exact decimals).
The FIT practice rule prompts a conversation when the total is below 36 or any mark below 9.
"""

from decimal import Decimal

from questionnaires.contract import AlertRule, Band, Example, Item, Questionnaire, Scoring, Translation

DIMENSIONS = ("Relationship", "Goals and topics", "Approach or method", "Overall")

ITEMS = tuple(
    Item(
        link_id=str(number),
        label=label,
        type="decimal",
        min=Decimal("0.0"),
        max=Decimal("10.0"),
        step=Decimal("0.1"),
    )
    for number, label in enumerate(DIMENSIONS, start=1)
)

CUTOFF = Decimal(36)
ITEM_CUTOFF = Decimal(9)


def _answers(*values: str) -> dict[str, Decimal]:
    return {str(number): Decimal(value) for number, value in enumerate(values, start=1)}


EXAMPLES = (
    Example(
        description="All marks 0.0: the minimum, below both cut-offs.",
        answers=_answers("0.0", "0.0", "0.0", "0.0"),
        total=Decimal("0.0"),
        band="concern",
        flags=("low_alliance", "low_item"),
    ),
    Example(
        description="All marks 10.0: the maximum.",
        answers=_answers("10.0", "10.0", "10.0", "10.0"),
        total=Decimal("40.0"),
        band="no_concern",
    ),
    Example(
        description="9.2 + 8.7 + 9.0 + 9.1 = 36.0 exactly: no concern, but 8.7 is below 9.",
        answers=_answers("9.2", "8.7", "9.0", "9.1"),
        total=Decimal("36.0"),
        band="no_concern",
        flags=("low_item",),
    ),
    Example(
        description="All marks 9.0: total 36.0 sits on the cut-off and belongs to no_concern; no flag.",
        answers=_answers("9.0", "9.0", "9.0", "9.0"),
        total=Decimal("36.0"),
        band="no_concern",
    ),
    Example(
        description="9.0 + 9.0 + 9.0 + 8.9 = 35.9: just below the cut-off.",
        answers=_answers("9.0", "9.0", "9.0", "8.9"),
        total=Decimal("35.9"),
        band="concern",
        flags=("low_alliance", "low_item"),
    ),
)

SRS = Questionnaire(
    id="srs",
    version="1.0.0",
    title="Session Rating Scale (SRS v3)",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="sum",
        missing="reject",
        decimals=None,
        total_min=Decimal(0),
        total_max=Decimal(40),
        description=(
            "Total: sum of the four marks, each 0.0–10.0 cm to the nearest mm (0–40); higher is a stronger "
            "alliance. A total below 36 is `concern`. Every mark is required."
        ),
    ),
    bands=(
        Band(name="concern", lower=Decimal(0), upper=CUTOFF, label="Possible concern (total below 36)"),
        Band(name="no_concern", lower=CUTOFF, upper=Decimal(40), label="No concern (total 36 or above)"),
    ),
    band_cutoff_belongs_to="upper",
    alert_rules=(
        AlertRule(
            flag="low_alliance",
            on="total",
            comparison="<",
            threshold=CUTOFF,
            description="Total below 36: talk about the alliance (FIT practice rule).",
            raters=("client",),
        ),
        AlertRule(
            flag="low_item",
            on="any_item",
            comparison="<",
            threshold=ITEM_CUTOFF,
            description="A mark below 9: talk about that dimension (FIT practice rule).",
            raters=("client",),
        ),
    ),
    reference=(
        "Duncan, B. L., Miller, S. D., Sparks, J. A., Claud, D. A., Reynolds, L. R., Brown, J. & Johnson, L. D. "
        "(2003). The Session Rating Scale: preliminary psychometric properties of a \"working\" alliance "
        "measure. Journal of Brief Therapy 3:3–12."
    ),
    license=(
        "Proprietary (Scott D. Miller and Barry L. Duncan); organisational and electronic use needs a licence. "
        "Only the dimension names are served."
    ),
    text_allowed=False,
    recall_period="today's session",
    construct="alliance",
    direction="higher_is_better",
    clinical_cutoff=CUTOFF,
    clinical_cutoff_comparison="<",
    copyright="© Scott D. Miller and Barry L. Duncan.",
    examples=EXAMPLES,
    translations={
        "de": Translation(
            recall_period="die heutige Sitzung",
            title="Session Rating Scale (SRS v3)",
            labels={"1": "Beziehung", "2": "Ziele und Themen", "3": "Vorgehen oder Methode", "4": "Insgesamt"},
        )
    },
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (SRS,)
