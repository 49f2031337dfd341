"""What scoring and validation work out once per loaded definition, kept beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from questionnaires.contract import Questionnaire

Derived = TypeVar("Derived")


class PerDefinition(Generic[Derived]):
    """`build(definition)` computed once per definition object, at most `limit` kept (oldest dropped first).

    Keyed by identity: definitions hold dicts, so they do not hash, and they are frozen, so the
    same object always derives the same thing. Each entry keeps its definition alive, so an id is
    never reused for another definition while it is cached.
    """

    def __init__(self, build: Callable[[Questionnaire], Derived], *, limit: int) -> None:
        self.build = build
        self.limit = limit
        self.entries: dict[int, tuple[Questionnaire, Derived]] = {}

    def __call__(self, definition: Questionnaire) -> Derived:
        entry = self.entries.get(id(definition))
        if entry is not None and entry[0] is definition:
            return entry[1]
        derived = self.build(definition)
        if len(self.entries) >= self.limit:
            self.entries.pop(next(iter(self.entries)))
        self.entries[id(definition)] = (definition, derived)
        return derived
