"""Celery tasks, one module per queue; importing this package registers them all."""

from questionnaires.tasks import exports, health, metrics, scoring, webhooks  # noqa: F401
