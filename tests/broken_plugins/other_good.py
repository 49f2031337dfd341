"""A second valid plugin, to show it keeps being served next to broken ones."""

from tests.broken_plugins.good import make_definition

QUESTIONNAIRES = (make_definition(id="other-check", version="2.0.0"),)
