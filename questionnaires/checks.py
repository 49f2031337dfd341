"""System checks: a plugin that failed to load is a `manage.py check` warning."""

from __future__ import annotations

from django.core import checks


@checks.register()
def failed_plugins_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from questionnaires.registry import get_registry

    return [
        checks.Warning(
            f"questionnaire plugin {problem.source!r} left out at {problem.stage}: {problem.message}",
            id="questionnaires.W001",
        )
        for problem in get_registry().problems
    ]
