"""Placeholder registry until the plugin issue lands: no plugins, no problems."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Registry:
    problems: list = field(default_factory=list)


_registry = Registry()


def build_registry() -> Registry:
    return _registry


def get_registry() -> Registry:
    return _registry
