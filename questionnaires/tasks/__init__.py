"""Celery tasks, one module per queue; importing this package registers them all."""

from questionnaires.tasks import expected_change, exports, health, metrics, scoring, webhooks  # noqa: F401
