"""Built-in questionnaire plugins, one package each. Third-party ones come from entry points."""

BUILTIN_PLUGINS: list[str] = [
    "plugins.wai_sr",
    "plugins.wai_s",
    "plugins.srs",
    "plugins.ors",
    "plugins.haq_ii",
    "plugins.phq_9",
    "plugins.gad_7",
    "plugins.core_10",
    "plugins.gbo",
]
