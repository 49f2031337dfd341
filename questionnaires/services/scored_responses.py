"""A response scored in the current batch: what scoring hands to the alert rules and the webhook outbox.

Kept apart from `services.scoring`, which calls those services, so they can name the type without
importing scoring back.
"""

from __future__ import annotations

from dataclasses import dataclass

from questionnaires.contract import Questionnaire, Score
from questionnaires.models import Response


@dataclass(frozen=True)
class ScoredResponse:
    """A response scored in this batch, with the definition and result the alert rules read."""

    response: Response
    definition: Questionnaire
    score: Score
