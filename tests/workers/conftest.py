"""Fixtures for the worker tests: submitting through the API with the on-commit work (scoring, rollups) run."""

from __future__ import annotations

import pytest

from tests.workers.helpers import submit


@pytest.fixture
def scored(django_capture_on_commit_callbacks):
    """Submit through the API and run what commits trigger (eager scoring, rollup, webhooks) before returning."""

    def submit_and_score(persona, questionnaire, answers, **kwargs) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            return submit(persona, questionnaire, answers, **kwargs)

    return submit_and_score
