"""A third-party-style plugin whose score() raises for one answer value; a worker loads it via an entry point."""

from decimal import Decimal

from questionnaires.contract import AnswerOption, Example, Item, Questionnaire, Score, Scoring

OPTIONS = tuple(AnswerOption(value=value, label=str(value)) for value in range(4))


def score(definition, answers):
    if int(answers["1"]) == 3:
        raise RuntimeError("boom: the plugin cannot handle a 3")
    total = Decimal(int(answers["1"]) + int(answers["2"]))
    return Score(total=total)


QUESTIONNAIRES = (
    Questionnaire(
        id="test-raising",
        version="1.0.0",
        title="A plugin that raises",
        respondent="client",
        items=(Item(link_id="1", label="One", options=OPTIONS), Item(link_id="2", label="Two", options=OPTIONS)),
        scoring=Scoring(method="sum", total_min=Decimal(0), total_max=Decimal(6), description="Sum of two items."),
        reference="None: a test fixture.",
        license="Test fixture.",
        construct="outcome",
        examples=(Example(description="1 + 2", answers={"1": 1, "2": 2}, total=Decimal(3)),),
        score=score,
    ),
)
