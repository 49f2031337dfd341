"""A plugin whose bands leave a gap and stop short of the total range."""

from decimal import Decimal

from questionnaires.contract import Band
from tests.broken_plugins.good import make_definition

QUESTIONNAIRES = (
    make_definition(
        id="gappy-bands",
        bands=(Band("low", Decimal(0), Decimal(4)), Band("high", Decimal(5), Decimal(8))),
        examples=(),
    ),
)
