"""An export started in the web process is built by a real `celery worker` consuming the exports queue."""

from __future__ import annotations

import csv
import io

import pytest

from questionnaires.models import ExportJob
from questionnaires.services.exports import BASE_COLUMNS, export_job_create
from tests.ui.helpers import scored_response
from tests.workers.worker_tools import wait_until


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_export_from_the_exports_queue(celery_worker_process, north):
    responses = [scored_response(north.client, session=session) for session in range(1, 4)]
    job = export_job_create(clinic=north.clinic, format=ExportJob.Format.CSV, fhir_base="https://example.org/fhir")
    finished = (ExportJob.Status.DONE, ExportJob.Status.FAILED)
    wait_until(lambda: ExportJob.objects.get(pk=job.pk).status in finished, what="the export to finish")
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    try:
        with job.file.open("rb") as handle:
            rows = list(csv.DictReader(io.StringIO(handle.read().decode())))
        assert list(rows[0])[: len(BASE_COLUMNS)] == list(BASE_COLUMNS)
        assert {row["response_id"] for row in rows} == {str(response.pk) for response in responses}
        assert job.rows_done == job.rows_total == 3
    finally:
        job.file.delete(save=False)
