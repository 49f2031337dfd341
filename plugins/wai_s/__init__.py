"""Working Alliance Inventory – Short form, client (WAI-S): 12 items on a 7-point scale, items 4 and 10 reversed.

Scoring after Tracey & Kokotovic (1989): total = sum of the 12 items after reversing 4 and 10
(12–84); goal, task and bond are sums of four reversed-where-keyed items (4–28); no bands.
"""

from decimal import Decimal

from questionnaires.contract import AnswerOption, Example, Item, Questionnaire, Scoring, Subscale

SUBSCALE_ITEMS = {
    "goal": ("4", "6", "10", "11"),
    "task": ("1", "2", "8", "12"),
    "bond": ("3", "5", "7", "9"),
}
SUBSCALE_OF = {link_id: name for name, link_ids in SUBSCALE_ITEMS.items() for link_id in link_ids}
REVERSE = ("4", "10")

OPTIONS = (
    AnswerOption(1, "Never"),
    AnswerOption(2, "Rarely"),
    AnswerOption(3, "Occasionally"),
    AnswerOption(4, "Sometimes"),
    AnswerOption(5, "Often"),
    AnswerOption(6, "Very often"),
    AnswerOption(7, "Always"),
)

ITEMS = tuple(
    Item(link_id=str(number), label=f"Item {number} ({SUBSCALE_OF[str(number)]})", options=OPTIONS)
    for number in range(1, 13)
)


def _answers(*values: int) -> dict[str, int]:
    return {str(number): value for number, value in enumerate(values, start=1)}


EXAMPLES = (
    Example(
        description="All items 1 (Never): items 4 and 10 reverse to 7, so 10 x 1 + 2 x 7 = 24.",
        answers=_answers(*[1] * 12),
        total=Decimal(24),
        subscales={"goal": Decimal(16), "task": Decimal(4), "bond": Decimal(4)},
        extras={"mean": Decimal(2)},
    ),
    Example(
        description="All items 7 (Always): items 4 and 10 reverse to 1, so 10 x 7 + 2 x 1 = 72.",
        answers=_answers(*[7] * 12),
        total=Decimal(72),
        subscales={"goal": Decimal(16), "task": Decimal(28), "bond": Decimal(28)},
        extras={"mean": Decimal(6)},
    ),
    Example(
        description="The minimum: 1 everywhere except the reversed items 4 and 10 at 7.",
        answers=_answers(1, 1, 1, 7, 1, 1, 1, 1, 1, 7, 1, 1),
        total=Decimal(12),
        subscales={"goal": Decimal(4), "task": Decimal(4), "bond": Decimal(4)},
        extras={"mean": Decimal(1)},
    ),
    Example(
        description="The maximum: 7 everywhere except the reversed items 4 and 10 at 1.",
        answers=_answers(7, 7, 7, 1, 7, 7, 7, 7, 7, 1, 7, 7),
        total=Decimal(84),
        subscales={"goal": Decimal(28), "task": Decimal(28), "bond": Decimal(28)},
        extras={"mean": Decimal(7)},
    ),
    Example(
        description="Mixed: item 4 raw 2 -> 6, item 10 raw 5 -> 3; goal 6+5+3+6, task 5+6+4+5, bond 7+6+6+5.",
        answers=_answers(5, 6, 7, 2, 6, 5, 6, 4, 5, 5, 6, 5),
        total=Decimal(64),
        subscales={"goal": Decimal(20), "task": Decimal(20), "bond": Decimal(24)},
        extras={"mean": Decimal("5.33")},
    ),
)

WAI_S = Questionnaire(
    id="wai-s",
    version="1.0.0",
    title="Working Alliance Inventory – Short form (client)",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="sum",
        reverse=REVERSE,
        missing="reject",
        decimals=2,
        extras=("mean",),
        total_min=Decimal(12),
        total_max=Decimal(84),
        description=(
            "Total: sum of the 12 items after reversing items 4 and 10 (8 - answer), 12–84; higher is a "
            "stronger alliance. Subscales goal, task and bond: sums of four items each (4–28), reversed "
            "items included reversed. Extra `mean`: the item mean (1–7), two decimals. Every item is required."
        ),
    ),
    subscales=tuple(
        Subscale(name=name, items=link_ids, title=f"{name.title()} (items {', '.join(link_ids)})")
        for name, link_ids in SUBSCALE_ITEMS.items()
    ),
    reference=(
        "Tracey, T. J. & Kokotovic, A. M. (1989). Factor structure of the Working Alliance Inventory. "
        "Psychological Assessment 1:207–210."
    ),
    license=(
        "Free to download; rights administered by the Society for Psychotherapy Research. Permission is "
        "needed to embed the item text in a product, so only short item labels are served."
    ),
    text_allowed=False,
    construct="alliance",
    direction="higher_is_better",
    copyright="Rights administered by the Society for Psychotherapy Research.",
    examples=EXAMPLES,
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (WAI_S,)
