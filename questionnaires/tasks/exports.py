"""Exports queue tasks: building an export file, kept apart so a large export never delays scoring or rollups."""

from celery import shared_task

from questionnaires.services.exports import export_job_run


@shared_task(
    name="questionnaires.export_run", queue="exports", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def export_run(job_id: str) -> str:
    job = export_job_run(job_id=job_id)
    return job.status if job is not None else "skipped"
