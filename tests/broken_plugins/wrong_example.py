"""A plugin whose example declares a total its scoring does not give."""

from decimal import Decimal

from questionnaires.contract import Example
from tests.broken_plugins.good import make_definition

QUESTIONNAIRES = (
    make_definition(id="wrong-example", examples=(Example("all ones", {"1": 1, "2": 1, "3": 1}, Decimal(3)),)),
)
