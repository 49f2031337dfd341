"""The questionnaire registry: discovery, loading, validation, lookup by (id, version).

INTERFACE STUB — the plugin issue fills this in; the signatures below are the contract
other modules code against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from questionnaires.contract import Questionnaire


@dataclass(frozen=True)
class PluginProblem:
    """A plugin left out: where it came from, at which stage it failed, and why."""

    source: str
    stage: str
    message: str


@dataclass
class Registry:
    definitions: dict[tuple[str, str], Questionnaire] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)

    def get(self, questionnaire_id: str, version: str | None = None) -> Questionnaire | None:
        """The definition, or None; without a version, the highest (semver) version."""
        raise NotImplementedError

    def all(self) -> list[Questionnaire]:
        """Every loaded definition, all versions, ordered by id then version."""
        raise NotImplementedError

    def latest(self) -> list[Questionnaire]:
        """The highest version of each questionnaire id."""
        raise NotImplementedError

    def version_row(self, definition: Questionnaire):
        """The QuestionnaireVersion row for a definition (created on first use, cached)."""
        raise NotImplementedError


_registry = Registry()


def build_registry() -> Registry:
    return _registry


def get_registry() -> Registry:
    return _registry
