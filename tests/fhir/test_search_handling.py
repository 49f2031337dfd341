"""Search parameters the server does not support: ignored visibly (lenient) or refused (Prefer: handling=strict);
formats it cannot serve are a 406; numbers and dates out of bounds are 400 OperationOutcomes naming them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle

from questionnaires.fhir.capability import SEARCH_PARAMS
from tests.fhir.conftest import body, response_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_clients_responses(north, north_fhir) -> None:
    from tests.factories import TherapyClientFactory

    TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    questionnaire = body(north_fhir.get("/fhir/Questionnaire/wai-sr"))
    for subject in ("north-client-1", "north-client-2"):
        posted = north_fhir.post(
            "/fhir/QuestionnaireResponse",
            response_for(questionnaire, {str(n): 4 for n in range(1, 13)}, subject=subject),
        )
        assert posted.status_code == 201, posted.content


def _self_query(bundle: dict) -> dict[str, list[str]]:
    url = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    return parse_qs(urlsplit(url).query)


def _outcomes(bundle: dict) -> list[dict]:
    return [entry["resource"] for entry in bundle.get("entry", []) if entry["search"]["mode"] == "outcome"]


def test_an_unsupported_parameter_is_left_out_of_the_self_link_and_named_in_a_warning(
    north_fhir, two_clients_responses
):
    answer = north_fhir.get("/fhir/QuestionnaireResponse", **{"subject.identifier": "x", "questionnaire": "wai-sr"})
    assert answer.status_code == 200, answer.content
    bundle = body(answer)
    Bundle.model_validate(bundle)
    query = _self_query(bundle)
    assert "subject.identifier" not in query
    assert query["questionnaire"] == ["wai-sr"]
    [outcome] = _outcomes(bundle)
    assert outcome["issue"][0]["severity"] == "warning"
    assert outcome["issue"][0]["expression"] == ["subject.identifier"]
    assert "subject.identifier" in outcome["issue"][0]["diagnostics"]
    matches = [entry for entry in bundle["entry"] if entry["search"]["mode"] == "match"]
    assert bundle["total"] == len(matches) == 2


def test_a_supported_search_carries_no_outcome_entry(north_fhir, two_clients_responses):
    bundle = body(north_fhir.get("/fhir/QuestionnaireResponse", subject="Patient/north-client-1"))
    assert _outcomes(bundle) == []
    assert bundle["total"] == 1


@pytest.mark.parametrize(
    "resource", ["Questionnaire", "QuestionnaireResponse", "Observation", "EpisodeOfCare", "Encounter"]
)
@pytest.mark.parametrize("prefer", ["handling=strict", "return=representation; handling=strict", "handling = strict"])
def test_prefer_handling_strict_refuses_an_unsupported_parameter_naming_it(north_fhir, resource, prefer):
    answer = north_fhir.api.get(f"/fhir/{resource}", {"subject.identifier": "x", "_sort": "-date"},
                                HTTP_ACCEPT="application/fhir+json", HTTP_PREFER=prefer)
    assert answer.status_code == 400, answer.content
    outcome = body(answer)
    assert outcome["resourceType"] == "OperationOutcome"
    assert sorted(issue["expression"][0] for issue in outcome["issue"]) == ["_sort", "subject.identifier"]
    assert {issue["code"] for issue in outcome["issue"]} == {"not-supported"}


@pytest.mark.parametrize(
    "resource", ["Questionnaire", "QuestionnaireResponse", "Observation", "EpisodeOfCare", "Encounter"]
)
def test_prefer_handling_strict_accepts_every_parameter_the_capability_statement_lists(north_fhir, resource):
    names = [name for name, kind, _ in SEARCH_PARAMS[resource] if kind != "date"]
    params = {name: "x" for name in names} | {"_count": "5", "_offset": "0", "_format": "json"}
    answer = north_fhir.api.get(f"/fhir/{resource}", params, HTTP_ACCEPT="application/fhir+json",
                                HTTP_PREFER="handling=strict")
    assert answer.status_code == 200, answer.content


@pytest.mark.parametrize("accept", ["application/fhir+xml", "application/xml", "text/html", "application/xml+fhir"])
@pytest.mark.parametrize("path", ["/fhir/metadata", "/fhir/Questionnaire", "/fhir/QuestionnaireResponse",
                                  "/fhir/Questionnaire/wai-sr"])
def test_asking_only_for_a_format_the_server_cannot_serve_is_a_406_operation_outcome(north_fhir, path, accept):
    answer = north_fhir.api.get(path, HTTP_ACCEPT=accept)
    assert answer.status_code == 406, answer.content
    assert body(answer)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("fmt", ["xml", "application/fhir+xml", "text/xml", "html"])
def test_a_format_parameter_the_server_cannot_serve_is_a_406(north_fhir, fmt):
    answer = north_fhir.get("/fhir/Questionnaire", _format=fmt)
    assert answer.status_code == 406
    assert body(answer)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("accept", ["application/fhir+json", "application/json", "*/*", "",
                                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"])
def test_json_is_served_for_json_and_wildcard_accept_headers(north_fhir, accept):
    answer = north_fhir.api.get("/fhir/Questionnaire", HTTP_ACCEPT=accept)
    assert answer.status_code == 200
    assert body(answer)["resourceType"] == "Bundle"


@pytest.mark.parametrize(
    ("resource", "name", "value"),
    [
        ("QuestionnaireResponse", "_offset", "²"),
        ("QuestionnaireResponse", "_offset", "9" * 30),
        ("QuestionnaireResponse", "_offset", "-1"),
        ("Observation", "_count", "٣"),
        ("Questionnaire", "_count", "9" * 5000),
        ("QuestionnaireResponse", "authored", "9999-12-31"),
        ("QuestionnaireResponse", "authored", "gt9999-12-31"),
        ("QuestionnaireResponse", "authored", "9999-12-31T23:59:59-14:00"),
        ("QuestionnaireResponse", "authored", "lt0001-01-01T00:00:00+14:00"),
        ("QuestionnaireResponse", "authored", "0001"),
        ("QuestionnaireResponse", "authored", "２０２４"),
        ("Observation", "date", "ge9999-12"),
        ("Observation", "date", "2024-01-01T10:00+99:00"),
    ],
)
def test_a_number_or_date_out_of_bounds_is_a_400_outcome_naming_the_parameter(north_fhir, resource, name, value):
    answer = north_fhir.get(f"/fhir/{resource}", **{name: value})
    assert answer.status_code == 400, answer.content
    issue = body(answer)["issue"][0]
    assert issue["code"] == "invalid"
    assert name in issue["diagnostics"]


@pytest.mark.parametrize("identifier", ["²", "9" * 30, "0"])
def test_an_observation_id_that_is_not_plain_digits_in_bounds_is_not_found(north_fhir, identifier):
    assert north_fhir.get(f"/fhir/Observation/{identifier}").status_code == 404
    search = north_fhir.get("/fhir/Observation", _id=identifier)
    assert search.status_code == 200 and body(search)["total"] == 0


def test_a_body_that_is_not_utf8_is_a_400_outcome(north_fhir):
    answer = north_fhir.post("/fhir/QuestionnaireResponse", b'{"resourceType": "\xff\xfe"}')
    assert answer.status_code == 400
    assert body(answer)["issue"][0]["code"] == "structure"


@pytest.mark.parametrize("fmt", ["json", "application/fhir+json", "application/fhir+json; fhirVersion=4.0",
                                 "application/json"])
def test_a_json_format_parameter_is_served(north_fhir, fmt):
    assert north_fhir.get("/fhir/Questionnaire", _format=fmt).status_code == 200
