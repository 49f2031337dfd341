"""Built-in questionnaire plugins, one package each. Third-party ones come from entry points."""

BUILTIN_PLUGINS: list[str] = []
