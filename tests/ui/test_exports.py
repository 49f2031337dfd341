"""Exports: CSV rows match the stored scores, NDJSON lines are valid FHIR R4, filters and access hold."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from questionnaires.models import AuditEvent, ExportJob, Response
from questionnaires.services import exports
from questionnaires.services.exports import BASE_COLUMNS, export_job_run
from tests.ui.helpers import scored_response, srs_answers

WAI_ANSWERS = {str(n): (n % 5) + 1 for n in range(1, 13)}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _job(persona, **fields) -> ExportJob:
    return ExportJob.objects.create(clinic=persona.clinic, fhir_base="https://example.org/fhir", **fields)


def _run(job: ExportJob) -> ExportJob:
    export_job_run(job_id=str(job.pk))
    job.refresh_from_db()
    return job


def _text(job: ExportJob) -> str:
    with job.file.open("rb") as handle:
        return handle.read().decode("utf-8")


@pytest.fixture
def answered(north, south):
    day = datetime(2026, 3, 10, 10, tzinfo=UTC)
    return {
        "wai": scored_response(north.client, questionnaire="wai-sr", answers=WAI_ANSWERS, session=3, authored=day,
                               clinician=north.clinician),
        "srs": scored_response(north.client, session=3, answers=srs_answers(34.8), authored=day + timedelta(hours=1)),
        "late": scored_response(north.client, session=9, authored=day + timedelta(days=60)),
        "theirs": scored_response(south.client, authored=day),
    }


def test_csv_has_a_row_per_response_with_subscales_as_columns(north, answered):
    job = _run(_job(north))
    assert job.status == ExportJob.Status.DONE and job.rows_done == job.rows_total == 3
    rows = list(csv.DictReader(io.StringIO(_text(job))))
    header = list(rows[0].keys())
    assert header[: len(BASE_COLUMNS)] == list(BASE_COLUMNS)
    assert {"subscale_goal", "subscale_task", "subscale_bond"} <= set(header)
    by_id = {row["response_id"]: row for row in rows}
    assert str(answered["theirs"].pk) not in by_id  # another clinic's response is never exported
    for key in ("wai", "srs", "late"):
        response = answered[key]
        score = response.scores.get()
        row = by_id[str(response.pk)]
        assert row["client"] == north.client.external_id
        assert row["questionnaire"] == response.questionnaire_version.questionnaire_id
        assert row["status"] == "scored" and row["plugin_version"] == score.plugin_version
        assert float(row["total"]) == float(score.total)
        assert row["band"] == (score.band or "")
        assert row["flags"] == ";".join(score.flags)
        for name, value in score.subscales.items():
            assert float(row[f"subscale_{name}"]) == float(value)
    wai = by_id[str(answered["wai"].pk)]
    assert wai["clinician"] == "north-clinician" and wai["session"] == "3"
    assert by_id[str(answered["srs"].pk)]["subscale_goal"] == ""


def test_csv_filters_by_questionnaire_and_date_range(north, answered):
    job = _run(_job(north, questionnaire_id="srs", date_from=date(2026, 3, 10), date_to=date(2026, 3, 10)))
    rows = list(csv.DictReader(io.StringIO(_text(job))))
    assert [row["response_id"] for row in rows] == [str(answered["srs"].pk)]
    assert "subscale_goal" not in rows[0]


def test_csv_defuses_spreadsheet_formulas_in_text(north):
    north.client.external_id = "=HYPERLINK(1)"
    north.client.save()
    scored_response(north.client)
    row = next(csv.DictReader(io.StringIO(_text(_run(_job(north))))))
    assert row["client"] == "'=HYPERLINK(1)"


def test_csv_keeps_unscored_responses_with_empty_score_columns(north, answered):
    Response.objects.filter(pk=answered["late"].pk).update(status=Response.Status.FAILED)
    answered["late"].scores.all().delete()
    rows = {r["response_id"]: r for r in csv.DictReader(io.StringIO(_text(_run(_job(north)))))}
    assert rows[str(answered["late"].pk)]["status"] == "failed" and rows[str(answered["late"].pk)]["total"] == ""


def test_ndjson_questionnaire_responses_parse_as_fhir_r4(north, answered):
    job = _run(_job(north, format=ExportJob.Format.FHIR_QUESTIONNAIRE_RESPONSE))
    lines = _text(job).splitlines()
    assert len(lines) == 3
    parsed = [QuestionnaireResponse.model_validate(json.loads(line)) for line in lines]
    assert {resource.id for resource in parsed} == {str(answered[k].pk) for k in ("wai", "srs", "late")}
    assert all(resource.subject.reference == f"Patient/{north.client.external_id}" for resource in parsed)
    assert job.file.name.endswith(".ndjson")


def test_ndjson_observations_parse_as_fhir_r4_and_carry_the_scores(north, answered):
    job = _run(_job(north, format=ExportJob.Format.FHIR_OBSERVATION))
    lines = _text(job).splitlines()
    assert len(lines) == 3
    for line in lines:
        observation = Observation.model_validate(json.loads(line))
        response_id = observation.derivedFrom[0].reference.removeprefix("QuestionnaireResponse/")
        score = Response.objects.get(pk=response_id).scores.get()
        assert float(observation.valueQuantity.value) == float(score.total)


def test_progress_is_saved_chunk_by_chunk(north, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    for session in range(1, 6):
        scored_response(north.client, session=session)
    seen = []
    original = ExportJob.objects.filter

    def spy(*args, **kwargs):
        query = original(*args, **kwargs)
        update = query.update

        def recorded_update(**values):
            if "rows_done" in values:
                seen.append(values["rows_done"])
            return update(**values)

        query.update = recorded_update
        return query

    monkeypatch.setattr(ExportJob.objects, "filter", spy)
    job = _run(_job(north))
    assert job.rows_done == 5 and job.rows_total == 5
    assert 2 in seen and 4 in seen  # updated after each chunk, not only at the end


def test_a_finished_job_is_not_run_twice(north, answered):
    job = _run(_job(north))
    name = job.file.name
    assert export_job_run(job_id=str(job.pk)) is None
    job.refresh_from_db()
    assert job.file.name == name
    assert export_job_run(job_id="not-a-uuid") is None


def test_a_failing_export_records_why(north, answered, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "csv_row", broken)
    job = _run(_job(north))
    assert job.status == ExportJob.Status.FAILED and "disk full" in job.error


@pytest.mark.django_db(transaction=True)
def test_the_admin_starts_an_export_that_a_worker_finishes_and_the_file_downloads(client, north, south):
    scored_response(north.client)
    admin_user = get_user_model().objects.create_superuser(username="root", email="", password="pw")
    client.force_login(admin_user)
    page = client.post(
        reverse("admin:questionnaires_exportjob_add"),
        {"clinic": north.clinic.pk, "format": "csv", "questionnaire_id": "", "date_from": "", "date_to": ""},
    )
    assert page.status_code == 302
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE and job.requested_by == admin_user  # eager: ran on commit
    listing = client.get(reverse("admin:questionnaires_exportjob_changelist")).content.decode()
    assert reverse("admin-export-download", args=[job.pk]) in listing
    download = client.get(reverse("admin-export-download", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    body = b"".join(download.streaming_content).decode()
    assert body.startswith(",".join(BASE_COLUMNS))
    assert "?part=dictionary" in listing
    dictionary = client.get(reverse("admin-export-download", args=[job.pk]) + "?part=dictionary")
    assert dictionary.status_code == 200
    assert b"".join(dictionary.streaming_content).decode().startswith("column,questionnaire,label,values")
    assert AuditEvent.objects.filter(action="download", object_type="export", clinic_id=north.clinic.pk).exists()

    south.supervisor.is_staff = True
    south.supervisor.save()
    client.force_login(south.supervisor)
    assert client.get(reverse("admin-export-download", args=[job.pk])).status_code in (403, 404)


def test_a_download_of_an_unknown_or_unfinished_job_is_404(client, north):
    admin_user = get_user_model().objects.create_superuser(username="root", email="", password="pw")
    client.force_login(admin_user)
    job = _job(north)
    assert client.get(reverse("admin-export-download", args=[job.pk])).status_code == 404
    assert client.get(reverse("admin-export-download", args=["nope"])).status_code == 404


def test_the_add_form_refuses_a_reversed_date_range(client, north):
    admin_user = get_user_model().objects.create_superuser(username="root", email="", password="pw")
    client.force_login(admin_user)
    page = client.post(
        reverse("admin:questionnaires_exportjob_add"),
        {"clinic": north.clinic.pk, "format": "csv", "date_from": "2026-03-02", "date_to": "2026-03-01"},
    )
    assert page.status_code == 200 and not ExportJob.objects.exists()


def _dictionary(job: ExportJob) -> dict[str, dict]:
    with job.dictionary.open("rb") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))
    return {row["column"]: row for row in rows if row["column"] != "total" or not row["questionnaire"]}


def test_csv_has_item_level_answers_the_credited_clinician_and_the_session(north, answered):
    job = _run(_job(north))
    rows = {row["response_id"]: row for row in csv.DictReader(io.StringIO(_text(job)))}
    wai = rows[str(answered["wai"].pk)]
    assert [wai[f"wai-sr.{n}"] for n in range(1, 13)] == [str(WAI_ANSWERS[str(n)]) for n in range(1, 13)]
    assert wai["clinician"] == north.clinician.username and wai["session"] == "3"
    srs = rows[str(answered["srs"].pk)]
    assert [srs[f"srs.{n}"] for n in range(1, 5)] == [
        str(value).rstrip("0").rstrip(".") if "." in str(value) else str(value)
        for value in srs_answers(34.8).values()
    ]
    assert wai["srs.1"] == "" and srs["wai-sr.1"] == ""


def test_the_data_dictionary_describes_every_column_with_short_labels_where_text_is_not_licensed(north, answered):
    scored_response(north.client, questionnaire="phq-9", answers={str(n): 1 for n in range(1, 11)})
    job = _run(_job(north))
    header = next(csv.reader(io.StringIO(_text(job))))
    dictionary = _dictionary(job)
    assert set(header) <= set(dictionary)
    assert dictionary["wai-sr.1"]["label"] == "Item 1 (task)"  # WAI-SR text is not licensed: the short label
    assert dictionary["srs.1"]["questionnaire"] == "srs"
    assert "bothered" not in dictionary["srs.1"]["label"]
    assert dictionary["phq-9.1"]["label"].startswith("Little interest or pleasure")  # public domain: the text
    assert "0=Not at all" in dictionary["phq-9.1"]["values"]
    assert "credited clinician" in dictionary["clinician"]["description"]
