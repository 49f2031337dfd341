"""Reads configuration from the environment and stops with one clear line when it is wrong."""

from __future__ import annotations

import os
import sys


class ConfigError(Exception):
    """A setting that cannot be used; the message names the setting."""


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_int_list(name: str, default: list[int]) -> list[int]:
    try:
        return [int(part) for part in env_list(name, [str(value) for value in default])]
    except ValueError:
        raise ConfigError(f"{name}: expected whole numbers separated by commas, got {os.environ.get(name)!r}") from None


def exit_on_config_error(error: ConfigError) -> None:
    """One line on stderr and a non-zero exit, instead of a traceback wall."""
    print(f"configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)
