"""A plugin written for a plugin contract this server does not provide."""

from questionnaires.contract import CONTRACT_VERSION
from tests.broken_plugins.good import make_definition

QUESTIONNAIRES = (make_definition(id="from-the-future", requires_contract=CONTRACT_VERSION + 1),)
