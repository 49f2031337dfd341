"""A small valid plugin, and `make_definition` for tests that need a variant of it."""

from dataclasses import replace
from decimal import Decimal

from questionnaires.contract import AlertRule, AnswerOption, Band, Example, Item, Questionnaire, Scoring, Subscale

OPTIONS = tuple(AnswerOption(value, label) for value, label in enumerate(("never", "sometimes", "often", "always")))


def make_definition(**overrides) -> Questionnaire:
    """`tiny-check` 1.0.0: three 0-3 items (item 3 reverse-keyed), sum 0-9, two bands, a flag on item 1."""
    definition = Questionnaire(
        id="tiny-check",
        version="1.0.0",
        title="Tiny check",
        respondent="client",
        items=(
            Item("1", "Item 1", options=OPTIONS),
            Item("2", "Item 2", options=OPTIONS),
            Item("3", "Item 3 (reversed)", options=OPTIONS),
        ),
        scoring=Scoring(method="sum", reverse=("3",), total_min=Decimal(0), total_max=Decimal(9)),
        subscales=(Subscale("first-two", ("1", "2")),),
        bands=(Band("low", Decimal(0), Decimal(5)), Band("high", Decimal(5), Decimal(9))),
        alert_rules=(AlertRule("item-one", on="any_item", comparison=">=", threshold=Decimal(2), items=("1",)),),
        reference="Invented for the test suite.",
        license="CC0",
        examples=(
            # 0 + 0 + (3 - 3) = 0
            Example("minimum", {"1": 0, "2": 0, "3": 3}, Decimal(0), band="low",
                    subscales={"first-two": Decimal(0)}),
            # 3 + 3 + (3 - 0) = 9
            Example("maximum", {"1": 3, "2": 3, "3": 0}, Decimal(9), band="high", flags=("item-one",)),
            # 2 + 2 + (3 - 2) = 5, the cut-off: upper band
            Example("cut-off", {"1": 2, "2": 2, "3": 2}, Decimal(5), band="high", flags=("item-one",)),
        ),
    )
    return replace(definition, **overrides)


QUESTIONNAIRES = (make_definition(), make_definition(version="1.1.0-rc.1"))
