"""Alliance API project package: settings, URLs and the Celery app."""

from alliance_api.celery import app as celery_app

__all__ = ["celery_app"]
