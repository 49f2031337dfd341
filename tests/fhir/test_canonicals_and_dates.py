"""Canonicals from FHIR_CANONICAL_BASE (never the request's Host), LOINC form URLs, another host's form refused;
`authored` required, a date alone placed at noon in the clinic's time zone, a month or year refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from questionnaires.models import Response
from tests.fhir.conftest import body
from tests.fhir.test_item_identification import PHQ9_CODES, phq9_items, refused, resource

PUBLIC = "https://alliance.example.org/fhir"


def phq9(subject: str, questionnaire: str, **fields) -> dict:
    return {**resource(subject, phq9_items([f"/{code}" for code in PHQ9_CODES]), questionnaire), **fields}


@pytest.fixture
def public_base(settings) -> None:
    settings.FHIR_CANONICAL_BASE = PUBLIC
    settings.FHIR_CANONICAL_ALIASES = ["https://old-host.example.org/fhir"]


def test_served_canonicals_come_from_the_setting_not_the_host_the_request_used(public_base, north, north_fhir):
    served = body(north_fhir.get("/fhir/Questionnaire/phq-9"))
    assert served["url"] == f"{PUBLIC}/Questionnaire/phq-9"
    posted = north_fhir.post("/fhir/QuestionnaireResponse", phq9(north.client.external_id, served["url"]))
    assert posted.status_code == 201, posted.content
    assert body(posted)["questionnaire"] == f"{PUBLIC}/Questionnaire/phq-9|1.1.0"
    assert posted["Location"].startswith("http://testserver/fhir/QuestionnaireResponse/")  # where we were reached


@pytest.mark.parametrize(
    "canonical",
    [
        f"{PUBLIC}/Questionnaire/phq-9|1.1.0",
        "https://old-host.example.org/fhir/Questionnaire/phq-9",
        "Questionnaire/phq-9",
        "http://loinc.org/q/44249-1",
        "http://loinc.org/q/44249-1|2.77",
        "https://loinc.org/q/44249-1",
    ],
)
def test_own_canonicals_aliases_relative_references_and_loinc_form_urls_are_accepted(
    public_base, north, north_fhir, canonical
):
    posted = north_fhir.post("/fhir/QuestionnaireResponse", phq9(north.client.external_id, canonical))
    assert posted.status_code == 201, posted.content
    assert Response.objects.get().questionnaire_version.version == "1.1.0"  # LOINC's |2.77 is not our version


@pytest.mark.parametrize(
    "canonical",
    [
        "https://other-vendor.example.com/fhir/Questionnaire/phq-9",
        "http://testserver/fhir/Questionnaire/phq-9",  # the Host of this very request, but not the canonical base
    ],
)
def test_another_hosts_questionnaire_of_the_same_name_is_not_taken_as_ours(public_base, north, north_fhir, canonical):
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", phq9(north.client.external_id, canonical)))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.questionnaire"]
    assert f"{PUBLIC}/Questionnaire/phq-9" in outcome.issue[0].diagnostics


def test_a_loinc_form_the_product_does_not_score_is_refused(north, north_fhir):
    outcome = refused(
        north_fhir.post("/fhir/QuestionnaireResponse", phq9(north.client.external_id, "http://loinc.org/q/72133-2"))
    )
    assert "72133-2" in outcome.issue[0].diagnostics


# --- authored ------------------------------------------------------------------------------------------------------


def test_a_response_without_authored_is_refused_not_stamped_with_the_time_of_receipt(north, north_fhir):
    resource = phq9(north.client.external_id, "http://loinc.org/q/44249-1")
    del resource["authored"]
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", resource))
    assert [(issue.code, issue.expression) for issue in outcome.issue] == [
        ("required", ["QuestionnaireResponse.authored"])
    ]


@pytest.mark.parametrize("authored", ["2025-05", "2025"])
def test_a_month_or_year_is_refused_saying_what_to_send(north, north_fhir, authored):
    resource = phq9(north.client.external_id, "http://loinc.org/q/44249-1", authored=authored)
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", resource))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.authored"]
    assert "YYYY-MM-DD" in outcome.issue[0].diagnostics


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        ("UTC", datetime(2025, 5, 6, 12, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2025, 5, 6, 16, 0, tzinfo=UTC)),
        ("Pacific/Auckland", datetime(2025, 5, 6, 0, 0, tzinfo=UTC)),
    ],
)
def test_a_date_alone_is_noon_of_that_day_in_the_clinics_time_zone(north, north_fhir, time_zone, expected):
    north.clinic.time_zone = time_zone
    north.clinic.save()
    resource = phq9(north.client.external_id, "http://loinc.org/q/44249-1", authored="2025-05-06")
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource)
    assert posted.status_code == 201, posted.content
    assert Response.objects.get().authored_at == expected


def test_a_clinic_time_zone_must_be_an_iana_name(north):
    north.clinic.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError):
        north.clinic.full_clean()
