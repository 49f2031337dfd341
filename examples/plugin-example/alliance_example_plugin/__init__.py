"""An invented three-item mood check (`example-mood`), showing how a third-party plugin is written.

Not a validated instrument: it exists to demonstrate the plugin contract and entry point.
"""

from decimal import Decimal

from questionnaires.contract import AlertRule, AnswerOption, Band, Example, Item, Questionnaire, Scoring

OPTIONS = (
    AnswerOption(0, "Not at all"),
    AnswerOption(1, "A little"),
    AnswerOption(2, "Somewhat"),
    AnswerOption(3, "Quite a lot"),
    AnswerOption(4, "Very much"),
)

EXAMPLE_MOOD = Questionnaire(
    id="example-mood",
    version="0.1.0",
    title="Example mood check",
    respondent="client",
    items=(
        Item("1", "Calm", text="Today I felt calm.", options=OPTIONS),
        Item("2", "Energy", text="Today I had energy for what I wanted to do.", options=OPTIONS),
        Item("3", "Hope", text="Today I felt hopeful about the coming week.", options=OPTIONS),
    ),
    scoring=Scoring(
        method="sum",
        total_min=Decimal(0),
        total_max=Decimal(12),
        description="Total: sum of the three items (0-12); higher is a better mood.",
    ),
    bands=(
        Band("low", Decimal(0), Decimal(6), "Low mood"),
        Band("ok", Decimal(6), Decimal(12), "Mood fine"),
    ),
    alert_rules=(
        AlertRule("no_hope", on="any_item", comparison="<=", threshold=Decimal(0), items=("3",),
                  description="The client answered 'Not at all' to feeling hopeful."),
    ),
    construct="outcome",
    direction="higher_is_better",
    reference="Invented for the Alliance API plugin example; not a published instrument.",
    license="CC0 1.0: no rights reserved.",
    text_allowed=True,
    examples=(
        Example("All minimum", {"1": 0, "2": 0, "3": 0}, Decimal(0), band="low", flags=("no_hope",)),
        Example("All maximum", {"1": 4, "2": 4, "3": 4}, Decimal(12), band="ok"),
        Example("Total 6 sits on the cut-off and belongs to the upper band", {"1": 2, "2": 3, "3": 1}, Decimal(6),
                band="ok"),
        Example("Total 5 is just below the cut-off", {"1": 3, "2": 2, "3": 0}, Decimal(5), band="low",
                flags=("no_hope",)),
    ),
)

QUESTIONNAIRES: tuple[Questionnaire, ...] = (EXAMPLE_MOOD,)
