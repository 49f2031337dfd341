"""Revised Helping Alliance Questionnaire, patient form (HAq-II): 19 items, 1–6, five reverse-keyed.

Scoring after Luborsky et al. (1996): the total is the mean of the 19 items after reversing
4, 8, 11, 16 and 19 (1.00–6.00, two decimals); the sum (19–114) is reported as an extra.
"""

from decimal import Decimal

from questionnaires.contract import AnswerOption, Example, Item, Questionnaire, Scoring

REVERSE = ("4", "8", "11", "16", "19")

OPTIONS = (
    AnswerOption(1, "Strongly disagree"),
    AnswerOption(2, "Disagree"),
    AnswerOption(3, "Slightly disagree"),
    AnswerOption(4, "Slightly agree"),
    AnswerOption(5, "Agree"),
    AnswerOption(6, "Strongly agree"),
)

ITEMS = tuple(Item(link_id=str(number), label=f"Item {number}", options=OPTIONS) for number in range(1, 20))


def _answers(default: int, **by_item: int) -> dict[str, int]:
    """Every item at `default`, except items given as `_4=2`."""
    answers = {str(number): default for number in range(1, 20)}
    answers.update({key.lstrip("_"): value for key, value in by_item.items()})
    return answers


EXAMPLES = (
    Example(
        description="All items 1: the five reversed items score 6, so (14 + 30) / 19 = 2.3157… -> 2.32.",
        answers=_answers(1),
        total=Decimal("2.32"),
        extras={"sum": Decimal(44)},
    ),
    Example(
        description="All items 6: the five reversed items score 1, so (84 + 5) / 19 = 4.6842… -> 4.68.",
        answers=_answers(6),
        total=Decimal("4.68"),
        extras={"sum": Decimal(89)},
    ),
    Example(
        description="The maximum: 6 everywhere except the reversed items at 1.",
        answers=_answers(6, _4=1, _8=1, _11=1, _16=1, _19=1),
        total=Decimal(6),
        extras={"sum": Decimal(114)},
    ),
    Example(
        description="The minimum: 1 everywhere except the reversed items at 6.",
        answers=_answers(1, _4=6, _8=6, _11=6, _16=6, _19=6),
        total=Decimal(1),
        extras={"sum": Decimal(19)},
    ),
    Example(
        description="Mixed: 14 items at 5 (70), item 4 raw 2 -> 5, items 8/11/16/19 raw 1 -> 6 (24): 99 / 19 -> 5.21.",
        answers=_answers(5, _4=2, _8=1, _11=1, _16=1, _19=1),
        total=Decimal("5.21"),
        extras={"sum": Decimal(99)},
    ),
)

HAQ_II = Questionnaire(
    id="haq-ii",
    version="1.0.0",
    title="Revised Helping Alliance Questionnaire (HAq-II), patient",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="mean",
        reverse=REVERSE,
        missing="reject",
        decimals=2,
        extras=("sum",),
        total_min=Decimal(1),
        total_max=Decimal(6),
        description=(
            "Total: mean of the 19 items after reversing items 4, 8, 11, 16 and 19 (7 - answer), 1.00–6.00, "
            "rounded half-up to two decimals; higher is a stronger alliance. Extra `sum`: the sum of the "
            "same 19 scored items (19–114). Every item is required."
        ),
    ),
    reference=(
        "Luborsky, L., Barber, J. P., Siqueland, L., Johnson, S., Najavits, L. M., Frank, A. & Daley, D. (1996). "
        "The Revised Helping Alliance Questionnaire (HAq-II): psychometric properties. Journal of "
        "Psychotherapy Practice and Research 5:260–271."
    ),
    license="Published in a journal without an explicit licence; the item text is not served.",
    text_allowed=False,
    construct="alliance",
    direction="higher_is_better",
    examples=EXAMPLES,
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (HAQ_II,)
