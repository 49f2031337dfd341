"""Goal-Based Outcomes (GBO): the client rates progress towards each of their own goals from 0 to 10.

Law, D. & Jacob, J. (2015). Goals and Goal Based Outcomes (GBOs): some useful information
(3rd ed.). London: CAMHS Press. The items are the client's active goals (dynamic items, linkId =
goal id); the total is the mean rating over the goals rated, two decimals, half up. Change per goal
and its reliable-change threshold live with the goals (`questionnaires.goal_progress`).
"""

from decimal import ROUND_HALF_UP, Decimal

from questionnaires.contract import Example, Item, Questionnaire, Score, Scoring, ScoringError, Translation

TEMPLATE_ITEMS = tuple(
    Item(
        link_id=str(number),
        label=f"Goal {number}: how close to reaching it (0 not at all, 10 reached)",
        type="integer",
        min=Decimal(0),
        max=Decimal(10),
        step=Decimal(1),
        required=number == 1,
    )
    for number in (1, 2, 3)
)


def score_goals(definition: Questionnaire, answers) -> Score:
    """The mean progress rating over whatever goals were rated; linkIds are goal ids, so none is assumed."""
    values = [Decimal(str(value)) for value in answers.values() if value is not None]
    if not values:
        raise ScoringError("At least one goal must be rated.", {"answers": "no goal rated"})
    if any(not Decimal(0) <= value <= Decimal(10) for value in values):
        raise ScoringError("Goal ratings run from 0 to 10.", {"answers": "rating off the 0-10 scale"})
    mean = (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Score(total=mean)


GBO = Questionnaire(
    id="gbo",
    version="1.0.0",
    title="Goal-Based Outcomes (GBO)",
    respondent="client",
    items=TEMPLATE_ITEMS,
    scoring=Scoring(
        method="mean",
        missing="prorate",
        max_missing=2,
        decimals=2,
        total_min=Decimal(0),
        total_max=Decimal(10),
        description=(
            "Total: mean progress rating (0-10) over the goals rated; each goal is also tracked on its own "
            "against its first rating."
        ),
    ),
    reference=(
        "Law, D. & Jacob, J. (2015). Goals and Goal Based Outcomes (GBOs): some useful information, 3rd ed. "
        "London: CAMHS Press. Reliable change on one goal: 2.45 points (Edbrooke-Childs, J., Jacob, J., Law, D., "
        "Deighton, J. & Wolpert, M. (2015). Child and Adolescent Mental Health 20(3):142-148)."
    ),
    license="Free to use; the goals are written by the client, so no published item text is served.",
    construct="goals",
    direction="higher_is_better",
    dynamic_items="client_goals",
    score=score_goals,
    examples=(
        Example(description="Three goals rated 3, 5 and 8: mean 16/3 = 5.33.", answers={"1": 3, "2": 5, "3": 8},
                total=Decimal("5.33")),
        Example(description="One goal rated 10.", answers={"1": 10}, total=Decimal("10.00")),
        Example(description="Goals rated 0 and 1: mean 0.5.", answers={"1": 0, "2": 1}, total=Decimal("0.50")),
    ),
    translations={
        "de": Translation(
            title="Zielbasierte Ergebnisse (GBO)",
            labels={
                str(number): f"Ziel {number}: wie nah am Ziel (0 gar nicht, 10 erreicht)" for number in (1, 2, 3)
            },
        )
    },
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (GBO,)
