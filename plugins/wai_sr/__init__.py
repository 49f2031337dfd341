"""Working Alliance Inventory – Short Revised, client form (WAI-SR): 12 items, goal/task/bond subscales.

Scoring after Hatcher & Gillaspy (2006): the total is the sum of the 12 items (12–60), each
subscale the sum of its four items (4–20); no item is reverse-keyed and no bands are published.
"""

from decimal import Decimal

from questionnaires.contract import AnswerOption, Example, Item, Questionnaire, Scoring, Subscale, Translation

SUBSCALE_ITEMS = {
    "goal": ("4", "6", "8", "11"),
    "task": ("1", "2", "10", "12"),
    "bond": ("3", "5", "7", "9"),
}
SUBSCALE_OF = {link_id: name for name, link_ids in SUBSCALE_ITEMS.items() for link_id in link_ids}

GERMAN_SUBSCALE_NAMES = {"goal": "Ziel", "task": "Aufgabe", "bond": "Bindung"}

OPTIONS = (
    AnswerOption(1, "Seldom"),
    AnswerOption(2, "Sometimes"),
    AnswerOption(3, "Fairly often"),
    AnswerOption(4, "Very often"),
    AnswerOption(5, "Always"),
)

ITEMS = tuple(
    Item(link_id=str(number), label=f"Item {number} ({SUBSCALE_OF[str(number)]})", options=OPTIONS)
    for number in range(1, 13)
)


def _answers(*values: int) -> dict[str, int]:
    return {str(number): value for number, value in enumerate(values, start=1)}


EXAMPLES = (
    Example(
        description="All items 1 (Seldom): the minimum.",
        answers=_answers(*[1] * 12),
        total=Decimal(12),
        subscales={"goal": Decimal(4), "task": Decimal(4), "bond": Decimal(4)},
        extras={"mean": Decimal(1)},
    ),
    Example(
        description="All items 5 (Always): the maximum.",
        answers=_answers(*[5] * 12),
        total=Decimal(60),
        subscales={"goal": Decimal(20), "task": Decimal(20), "bond": Decimal(20)},
        extras={"mean": Decimal(5)},
    ),
    Example(
        description="Mixed: goal 2+3+4+3, task 3+4+2+4, bond 5+4+5+5; mean 44/12 rounds to 3.67.",
        answers=_answers(3, 4, 5, 2, 4, 3, 5, 4, 5, 2, 3, 4),
        total=Decimal(44),
        subscales={"goal": Decimal(12), "task": Decimal(13), "bond": Decimal(19)},
        extras={"mean": Decimal("3.67")},
    ),
)

WAI_SR = Questionnaire(
    id="wai-sr",
    version="1.0.0",
    title="Working Alliance Inventory – Short Revised (client)",
    respondent="client",
    items=ITEMS,
    scoring=Scoring(
        method="sum",
        missing="reject",
        decimals=2,
        extras=("mean",),
        total_min=Decimal(12),
        total_max=Decimal(60),
        description=(
            "Total: sum of the 12 items (12–60); higher is a stronger alliance. Subscales goal, task and "
            "bond: sum of four items each (4–20). Extra `mean`: the item mean (1–5), two decimals. "
            "Every item is required."
        ),
    ),
    subscales=tuple(
        Subscale(name=name, items=link_ids, title=f"{name.title()} (items {', '.join(link_ids)})")
        for name, link_ids in SUBSCALE_ITEMS.items()
    ),
    reference=(
        "Hatcher, R. L. & Gillaspy, J. A. (2006). Development and validation of a revised short version "
        "of the Working Alliance Inventory. Psychotherapy Research 16:12–25."
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
    translations={
        "de": Translation(
            title="Working Alliance Inventory – Kurzform, revidiert (Klient/in)",
            labels={
                link_id: f"Item {link_id} ({GERMAN_SUBSCALE_NAMES[name]})" for link_id, name in SUBSCALE_OF.items()
            },
            options={
                "Seldom": "Selten",
                "Sometimes": "Manchmal",
                "Fairly often": "Ziemlich oft",
                "Very often": "Sehr oft",
                "Always": "Immer",
            },
        )
    },
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (WAI_SR,)
