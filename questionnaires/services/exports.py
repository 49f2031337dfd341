"""Building export files: CSV of responses with their scores, and FHIR Bulk-style NDJSON, streamed chunk by chunk.

A CSV export has a column per item (`<questionnaire>.<linkId>`, the raw answer) after the score
columns, and a second file, its data dictionary (`dictionary_rows`): one row per column saying
what it holds. Items are described by their published wording only where the licence allows it
(`text_allowed`); otherwise by the short label the project may always serve (WAI, SRS, ORS).
Questionnaires whose items are the client's own (GBO goals) get no item columns: goal ids differ
per client and goal text is client data.

Rows are read with `.iterator(chunk_size=...)` and written to a temporary file as they come, so an
export of any size holds one chunk in memory; the job row records progress after every chunk.
"""

from __future__ import annotations

import csv
import json
import logging
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.files import File
from django.db import transaction
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from questionnaires.contract import Questionnaire
from questionnaires.fhir.observation import observation_resource
from questionnaires.fhir.response_export import questionnaire_response_resource
from questionnaires.models import Clinic, ExportJob, Response, Score
from questionnaires.registry import get_registry
from questionnaires.services.publishing import EXPORT_RUN, publish

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
"""Rows fetched (and held) at a time; progress is saved after each chunk."""

BASE_COLUMNS = (
    "response_id",
    "client",
    "clinician",
    "questionnaire",
    "version",
    "session",
    "rater",
    "authored_at",
    "received_at",
    "source",
    "status",
    "plugin_version",
    "total",
    "band",
    "flags",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Text starting with these is prefixed with ' so a spreadsheet shows it instead of running it as a formula."""


def export_job_create(
    *,
    clinic: Clinic,
    format: str,
    questionnaire_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    requested_by: Any = None,
    fhir_base: str = "",
) -> ExportJob:
    """Record the job and hand it to a worker once the transaction commits."""
    job = ExportJob.objects.create(
        clinic=clinic,
        format=format,
        questionnaire_id=questionnaire_id,
        date_from=date_from,
        date_to=date_to,
        requested_by=requested_by,
        fhir_base=fhir_base,
    )
    export_job_enqueue(job=job)
    return job


def export_job_enqueue(*, job: ExportJob) -> None:
    """Publish after commit; a lost publish leaves the job pending, and the admin's "run again" retries it."""
    job_id = str(job.pk)
    transaction.on_commit(lambda: publish(EXPORT_RUN, args=[job_id], what=f"export {job_id}"))


def export_responses(job: ExportJob) -> QuerySet[Response]:
    """The job's responses: its clinic, optionally one questionnaire and an authored date range (UTC days).

    Retracted responses (entered in error) are left out.
    """
    responses = Response.objects.filter(clinic_id=job.clinic_id).exclude(status=Response.Status.RETRACTED)
    if job.questionnaire_id:
        responses = responses.filter(questionnaire_version__questionnaire_id=job.questionnaire_id)
    if job.date_from is not None:
        responses = responses.filter(authored_at__gte=datetime.combine(job.date_from, time.min, tzinfo=UTC))
    if job.date_to is not None:
        responses = responses.filter(
            authored_at__lt=datetime.combine(job.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return responses


def _definitions_in(responses: QuerySet[Response]) -> dict[tuple[str, str], Questionnaire]:
    keys = (
        responses.order_by()
        .values_list("questionnaire_version__questionnaire_id", "questionnaire_version__version")
        .distinct()
    )
    registry = get_registry()
    found = {}
    for questionnaire_id, version in keys:
        definition = registry.get(questionnaire_id, version)
        if definition is not None:
            found[(questionnaire_id, version)] = definition
    return found


def csv_columns(definitions: dict[tuple[str, str], Questionnaire]) -> list[str]:
    """The base columns, `subscale_<name>` and `extra_<name>` for every subscale and extra in scope,
    then `<questionnaire>.<linkId>` for every item in scope (in the definition's order)."""
    subscales: dict[str, None] = {}
    extras: dict[str, None] = {}
    items: dict[str, None] = {}
    for key in sorted(definitions):
        definition = definitions[key]
        for subscale in definition.subscales:
            subscales.setdefault(subscale.name)
        for name in definition.scoring.extras:
            extras.setdefault(name)
        for column in item_columns(definition):
            items.setdefault(column)
    return [
        *BASE_COLUMNS, *(f"subscale_{name}" for name in subscales), *(f"extra_{name}" for name in extras), *items,
    ]


def item_columns(definition: Questionnaire) -> list[str]:
    if definition.dynamic_items is not None:
        return []
    return [f"{definition.id}.{item.link_id}" for item in definition.items]


BASE_DESCRIPTIONS = {
    "response_id": "The response's id (UUID).",
    "client": "The client's external id, as the clinic's system knows them.",
    "clinician": "The credited clinician (username) of the session; empty when none was named.",
    "questionnaire": "The questionnaire id.",
    "version": "The questionnaire version the response was submitted with.",
    "session": "The session number within the client's course of care; empty when not given.",
    "rater": "Who rated: client or clinician.",
    "authored_at": "When the response was completed (ISO 8601, UTC): the session's date and time.",
    "received_at": "When the server received it (ISO 8601, UTC).",
    "source": "How it arrived (api, fhir, form, seed).",
    "status": "Scoring status: scored, failed or pending.",
    "plugin_version": "The version of the scoring plugin that computed the score.",
    "total": "The total score; range per questionnaire below.",
    "band": "The severity or concern band the total falls in.",
    "flags": "Flags the score raised (e.g. risk, low_alliance), separated by ';'.",
}
DICTIONARY_COLUMNS = ("column", "questionnaire", "label", "values", "description")


def dictionary_rows(columns: list[str], definitions: dict[tuple[str, str], Questionnaire]) -> list[list[str]]:
    """The data dictionary of a CSV export: a row per column, then each questionnaire's total range.

    An item is labelled with its text where the licence allows (`text_allowed`), else its short label.
    """
    rows = [list(DICTIONARY_COLUMNS)]
    described: dict[str, list[str]] = {}
    for key in sorted(definitions):
        definition = definitions[key]
        for subscale in definition.subscales:
            method = f"Subscale: {subscale.method} of items {', '.join(subscale.items)}."
            described.setdefault(f"subscale_{subscale.name}", ["", subscale.title or subscale.name, "", method])
        for name in definition.scoring.extras:
            described.setdefault(f"extra_{name}", ["", name, "", f"The {name} of the scored items."])
        for item in definition.items if definition.dynamic_items is None else ():
            label = item.text if definition.text_allowed and item.text else item.label
            if item.options:
                values = "; ".join(f"{_number(option.value)}={option.label}" for option in item.options)
            else:
                step = f" step {_number(item.step)}" if item.step else ""
                values = f"{_number(item.min)}–{_number(item.max)}{step}"
            description = "Raw answer (before any reversal)" + ("." if item.scored else "; not scored.")
            described.setdefault(f"{definition.id}.{item.link_id}", [definition.id, label, values, description])
    for column in columns:
        if column in BASE_DESCRIPTIONS:
            rows.append([column, "", column, "", BASE_DESCRIPTIONS[column]])
        else:
            questionnaire, label, values, description = described.get(column, ["", column, "", ""])
            rows.append([column, questionnaire, _text(label), values, description])
    for key in sorted(definitions):
        definition = definitions[key]
        rows.append([
            "total", definition.id, definition.title,
            f"{_number(definition.scoring.total_min)}–{_number(definition.scoring.total_max)}",
            f"Version {definition.version}: {definition.scoring.description}",
        ])
    return rows


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _number(value: Any) -> str:
    if value is None:
        return ""
    text = format(value, "f") if not isinstance(value, float) else repr(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _score_of(response: Response) -> Score | None:
    """The score from the version the response was submitted with, else the newest."""
    scores = list(response.scores.all())
    own = [score for score in scores if score.plugin_version == response.questionnaire_version.version]
    return (own or scores or [None])[-1]


def csv_row(response: Response, columns: list[str]) -> list[str]:
    score = _score_of(response)
    values: dict[str, str] = {
        "response_id": str(response.pk),
        "client": _text(response.client.external_id),
        "clinician": _text(response.clinician.username) if response.clinician_id else "",
        "questionnaire": response.questionnaire_version.questionnaire_id,
        "version": response.questionnaire_version.version,
        "session": "" if response.session_number is None else str(response.session_number),
        "rater": response.rater,
        "authored_at": response.authored_at.isoformat(),
        "received_at": response.received_at.isoformat(),
        "source": response.source,
        "status": response.status,
    }
    if score is not None:
        values["plugin_version"] = score.plugin_version
        values["total"] = _number(score.total)
        values["band"] = score.band or ""
        values["flags"] = ";".join(str(flag) for flag in score.flags or [])
        for name, value in (score.subscales or {}).items():
            values[f"subscale_{name}"] = _number(value)
        for name, value in (score.extras or {}).items():
            values[f"extra_{name}"] = _number(value)
    questionnaire = response.questionnaire_version.questionnaire_id
    for link_id, answer in (response.answers or {}).items():
        column = f"{questionnaire}.{link_id}"
        if answer is None or isinstance(answer, dict | list):
            continue
        if isinstance(answer, bool):
            values[column] = "true" if answer else "false"
        else:
            values[column] = _text(answer) if isinstance(answer, str) else _number(answer)
    return [values.get(column, "") for column in columns]


def _csv_lines(job: ExportJob, responses: QuerySet[Response]) -> Iterator[tuple[int, list[str]]]:
    definitions = _definitions_in(responses)
    columns = csv_columns(definitions)
    _save_dictionary(job, dictionary_rows(columns, definitions))
    yield 0, columns
    rows = (
        responses.select_related("client", "clinician", "questionnaire_version")
        .prefetch_related(Prefetch("scores", queryset=Score.objects.order_by("computed_at", "id")))
        .order_by("authored_at", "id")
    )
    for response in rows.iterator(chunk_size=CHUNK_SIZE):
        yield 1, csv_row(response, columns)


def _questionnaire_response_lines(job: ExportJob, responses: QuerySet[Response]) -> Iterator[tuple[int, dict]]:
    registry = get_registry()
    rows = responses.select_related("client", "clinician", "questionnaire_version").order_by("authored_at", "id")
    for response in rows.iterator(chunk_size=CHUNK_SIZE):
        version = response.questionnaire_version
        definition = registry.get(version.questionnaire_id, version.version)
        yield 1, questionnaire_response_resource(response, definition, base=job.fhir_base)


def export_scores(job: ExportJob) -> QuerySet[Score]:
    """One score per scored response in scope: the one from the version it was submitted with."""
    return Score.objects.filter(
        response__in=export_responses(job).filter(status=Response.Status.SCORED),
        plugin_version=F("response__questionnaire_version__version"),
    )


def _observation_lines(job: ExportJob, scores: QuerySet[Score]) -> Iterator[tuple[int, dict]]:
    registry = get_registry()
    rows = scores.select_related("response__client", "response__questionnaire_version").order_by(
        "response__authored_at", "id"
    )
    for score in rows.iterator(chunk_size=CHUNK_SIZE):
        version = score.response.questionnaire_version
        definition = registry.get(version.questionnaire_id, version.version)
        yield 1, observation_resource(score, score.response, definition, base=job.fhir_base)


def _claim(job_id: str) -> ExportJob | None:
    """Mark the job running; a redelivered task (worker died mid-export) starts the file again from scratch."""
    claimed = ExportJob.objects.filter(
        pk=job_id, status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.RUNNING, started_at=timezone.now(), rows_done=0, error="")
    return ExportJob.objects.select_related("clinic").get(pk=job_id) if claimed else None


def export_job_run(*, job_id: str) -> ExportJob | None:
    """Build the job's file; None when the job is unknown or already finished (a duplicate delivery)."""
    try:
        job = _claim(str(uuid.UUID(str(job_id))))
    except (ExportJob.DoesNotExist, ValueError):
        return None
    if job is None:
        return None
    try:
        _build(job)
    except Exception as error:  # the job row must tell the admin why, whatever went wrong
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000], finished_at=timezone.now()
        )
        job.refresh_from_db()
        return job
    return job


def _build(job: ExportJob) -> None:
    responses = export_responses(job)
    if job.format == ExportJob.Format.FHIR_OBSERVATION:
        scores = export_scores(job)
        total, lines, suffix = scores.count(), _observation_lines(job, scores), "ndjson"
    elif job.format == ExportJob.Format.FHIR_QUESTIONNAIRE_RESPONSE:
        total, lines, suffix = responses.count(), _questionnaire_response_lines(job, responses), "ndjson"
    else:
        total, lines, suffix = responses.count(), _csv_lines(job, responses), "csv"
    ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
    done = 0
    with tempfile.TemporaryFile(mode="w+b") as handle:
        text = _TextSink(handle)
        writer = csv.writer(text, lineterminator="\r\n") if suffix == "csv" else None
        for counted, line in lines:
            if writer is not None:
                writer.writerow(line)
            else:
                text.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            done += counted
            if counted and done % CHUNK_SIZE == 0:
                ExportJob.objects.filter(pk=job.pk).update(rows_done=done)
        handle.seek(0)
        name = f"{job.clinic.slug}-{job.format}-{timezone.now():%Y%m%d-%H%M%S}.{suffix}"
        job.file.save(name, File(handle), save=False)
    ExportJob.objects.filter(pk=job.pk).update(
        file=job.file.name, rows_done=done, rows_total=max(total, done), status=ExportJob.Status.DONE,
        finished_at=timezone.now(),
    )
    job.refresh_from_db()


def _save_dictionary(job: ExportJob, rows: list[list[str]]) -> None:
    with tempfile.TemporaryFile(mode="w+b") as handle:
        writer = csv.writer(_TextSink(handle), lineterminator="\r\n")
        writer.writerows(rows)
        handle.seek(0)
        name = f"{job.clinic.slug}-csv-dictionary-{timezone.now():%Y%m%d-%H%M%S}.csv"
        job.dictionary.save(name, File(handle), save=False)
    ExportJob.objects.filter(pk=job.pk).update(dictionary=job.dictionary.name)


class _TextSink:
    """UTF-8 text onto a binary temporary file (what `csv.writer` and the storage API each want)."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def write(self, text: str) -> int:
        return self.handle.write(text.encode("utf-8"))
