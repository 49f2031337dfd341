"""The Celery app; task modules live in `questionnaires/tasks/`, one per queue."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance_api.settings")

app = Celery("alliance_api")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["questionnaires"], related_name="tasks")
