"""Outcome Rating Scale (ORS): four 0–10 visual-analogue marks on how the client has been doing.

Scoring after Miller et al. (2003): total = sum of the four marks (0–40, exact decimals); an adult
total below 25 is in the clinical range. Reliable change (5 points against the intake ORS) needs the
client's history, so it is declared here (`reliable_change`) and raised by the history-based alerts.
"""

from decimal import Decimal

from questionnaires.contract import Band, Example, Item, Questionnaire, Scoring, Translation

DIMENSIONS = ("Individually", "Interpersonally", "Socially", "Overall")

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

ADULT_CUTOFF = Decimal(25)


def _answers(*values: str) -> dict[str, Decimal]:
    return {str(number): Decimal(value) for number, value in enumerate(values, start=1)}


EXAMPLES = (
    Example(
        description="All marks 0.0: the minimum, in the clinical range.",
        answers=_answers("0.0", "0.0", "0.0", "0.0"),
        total=Decimal("0.0"),
        band="clinical",
    ),
    Example(
        description="All marks 10.0: the maximum.",
        answers=_answers("10.0", "10.0", "10.0", "10.0"),
        total=Decimal("40.0"),
        band="non_clinical",
    ),
    Example(
        description="6.2 + 6.3 + 6.2 + 6.3 = 25.0: on the adult cut-off, which belongs to non_clinical.",
        answers=_answers("6.2", "6.3", "6.2", "6.3"),
        total=Decimal("25.0"),
        band="non_clinical",
    ),
    Example(
        description="6.2 + 6.2 + 6.3 + 6.2 = 24.9: just below the adult cut-off.",
        answers=_answers("6.2", "6.2", "6.3", "6.2"),
        total=Decimal("24.9"),
        band="clinical",
    ),
)

ORS = Questionnaire(
    id="ors",
    version="1.0.0",
    title="Outcome Rating Scale (ORS)",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="sum",
        missing="reject",
        decimals=None,
        total_min=Decimal(0),
        total_max=Decimal(40),
        description=(
            "Total: sum of the four marks, each 0.0–10.0 cm to the nearest mm (0–40); higher is better. "
            "Adults below 25 are in the clinical range (published cut-offs for ages 13–17: below 28; "
            "ages 6–12 on the CORS: below 32). A change of 5 points from the intake ORS is reliable. "
            "Every mark is required."
        ),
    ),
    bands=(
        Band(name="clinical", lower=Decimal(0), upper=ADULT_CUTOFF, label="Clinical range (adults, below 25)"),
        Band(name="non_clinical", lower=ADULT_CUTOFF, upper=Decimal(40), label="Non-clinical range (25 or above)"),
    ),
    band_cutoff_belongs_to="upper",
    reference=(
        "Miller, S. D., Duncan, B. L., Brown, J., Sparks, J. A. & Claud, D. A. (2003). The Outcome Rating "
        "Scale: a preliminary study of the reliability, validity, and feasibility of a brief visual analog "
        "measure. Journal of Brief Therapy 2:91–100."
    ),
    license=(
        "Proprietary (Scott D. Miller and Barry L. Duncan); organisational and electronic use needs a licence. "
        "Only the dimension names are served."
    ),
    text_allowed=False,
    recall_period="the last week, including today",
    construct="outcome",
    direction="higher_is_better",
    # Adult clinical cut-off 25 (caseness below it) and reliable change 5 points: Miller et al. (2003), as cited
    # above, and Miller, S. D. & Duncan, B. L. (2004). The Outcome and Session Rating Scales: administration and
    # scoring manual. Chicago: Institute for the Study of Therapeutic Change.
    reliable_change=Decimal(5),
    clinical_cutoff=ADULT_CUTOFF,
    clinical_cutoff_comparison="<",
    copyright="© Scott D. Miller and Barry L. Duncan.",
    examples=EXAMPLES,
    translations={
        "de": Translation(
            recall_period="die letzte Woche, einschließlich heute",
            title="Outcome Rating Scale (ORS)",
            labels={"1": "Individuell", "2": "Zwischenmenschlich", "3": "Sozial", "4": "Insgesamt"},
        )
    },
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (ORS,)
