"""A task that proves a worker is consuming (used by health tooling and tests)."""

from celery import shared_task


@shared_task(name="questionnaires.ping", ignore_result=False)
def ping(payload: str = "pong") -> str:
    return payload
