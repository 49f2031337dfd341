"""A plugin that declares an (id, version) the good plugin already provides."""

from tests.broken_plugins.good import make_definition

QUESTIONNAIRES = (make_definition(title="Someone else's tiny check"),)
