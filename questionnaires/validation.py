"""Checks submitted answers against a questionnaire definition.

INTERFACE STUB — the plugin issue fills this in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.contract import Number, Questionnaire


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission: `field` is a path such as `answers.4`."""

    field: str
    message: str
    code: str = "invalid"


def validate_answers(
    definition: Questionnaire, answers: Any, *, field_prefix: str = "answers"
) -> tuple[dict[str, Number], list[Problem]]:
    """Every problem with `answers` (unknown linkId, missing required item, wrong type,
    off the scale, not on the step, unscoreable per the missing-item rule), and the
    answers converted to the numbers the scoring engine takes (int for choice/integer
    items, Decimal for decimal items). Problems empty means the answers are scoreable.
    """
    raise NotImplementedError
