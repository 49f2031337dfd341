"""A plugin whose custom score() raises."""

from tests.broken_plugins.good import make_definition


def score(definition, answers):
    raise ZeroDivisionError("custom scoring divided by zero")


QUESTIONNAIRES = (make_definition(id="raising-score", score=score),)
