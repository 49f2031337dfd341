"""Hypothesis fuzzing of the FHIR endpoints (no OpenAPI schema there): no 5xx, and every error is an OperationOutcome.

Bodies are random JSON, and valid QuestionnaireResponses with one part broken; searches get
random parameter names and values; reads get random ids. Derandomised, so a failure reproduces.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fhir.conftest import FhirClient, body, response_for

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FIELDS = ["resourceType", "questionnaire", "status", "subject", "authored", "item", "identifier", "id", "meta"]
SEARCH_PARAMETERS = ["subject", "questionnaire", "code", "patient", "_count", "_offset", "_format", "authored", "_id",
                     "identifier", "url", "version", "status", "_sort", "page", "date", "subject.identifier"]
EDGE_VALUES = [
    "²", "٣", "１", "9" * 25, "9" * 5000, "-1", "0", "1e3",  # numbers str.isdigit() or int() mistake
    "9999-12-31", "gt9999-12-31", "0001-01-01", "lt0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999-14:00",
    "ge9999-12", "0001", "2024-02-30", "2024-01-01T10:00+99:00", "２０２４-01-01",
]
"""The input that once gave 500s: non-ASCII digits, numbers past 64 bits, dates at the calendar's ends."""
segments = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=70)


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"credential": None, "login": None}
    }


@pytest.fixture
def fhir(north) -> FhirClient:
    return FhirClient(north.api_key)


@pytest.fixture
def valid_response(fhir) -> dict:
    questionnaire = body(fhir.get("/fhir/Questionnaire/wai-sr"))
    return response_for(questionnaire, {str(number): 4 for number in range(1, 13)}, subject="north-client-1")


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []

    def check(self, what: str, response) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(f"{what}: {response.status_code}")
            return
        try:
            document = json.loads(response.content)
        except ValueError:
            self.failures.append(f"{what}: {response.status_code} with a body that is not JSON")
            return
        if response.status_code >= 400 and (
            not isinstance(document, dict)
            or document.get("resourceType") != "OperationOutcome"
            or not document.get("issue")
        ):
            self.failures.append(f"{what}: {response.status_code} without an OperationOutcome: {document!r:.200}")

    def verdict(self, minimum: int) -> None:
        print(f"FHIR fuzz: {sum(self.statuses.values())} calls, statuses {dict(sorted(self.statuses.items()))}")
        assert sum(self.statuses.values()) >= minimum
        assert not self.failures, "\n".join(self.failures[:15])


def test_random_json_bodies_are_4xx_operation_outcomes(fhir):
    tally = Tally()

    @FUZZ
    @given(document=json_values)
    def post(document) -> None:
        tally.check(f"POST {document!r:.120}", fhir.post("/fhir/QuestionnaireResponse", json.dumps(document)))

    post()
    tally.verdict(150)
    assert all(400 <= status < 500 for status in tally.statuses)


def test_bodies_that_are_not_utf8_are_4xx_operation_outcomes(fhir):
    tally = Tally()

    @FUZZ
    @given(prefix=st.binary(max_size=20), invalid=st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80"]))
    def post(prefix, invalid) -> None:
        document = b'{"resourceType": "' + prefix + invalid + b'"}'
        tally.check(f"POST {document!r:.120}", fhir.post("/fhir/QuestionnaireResponse", document))

    post()
    tally.verdict(150)
    assert all(400 <= status < 500 for status in tally.statuses)


def test_a_valid_response_with_one_part_broken_never_fails_the_server(fhir, valid_response):
    tally = Tally()

    @FUZZ
    @given(field=st.sampled_from(FIELDS + ["item"] * 3), value=json_values, drop=st.booleans(),
           index=st.integers(0, 11))
    def post(field, value, drop, index) -> None:
        document = json.loads(json.dumps(valid_response, default=str))
        if field == "item" and not drop:
            # Break one answer item: its linkId, its answer list or the value inside it.
            target = document["item"][index]
            key = ["linkId", "answer", "text"][index % 3]
            target[key] = value if index % 2 else [{"valueCoding": value}]
        elif drop:
            document.pop(field, None)
        else:
            document[field] = value
        tally.check(f"POST {field} drop={drop} {value!r:.80}", fhir.post("/fhir/QuestionnaireResponse", document))

    post()
    tally.verdict(150)


def test_random_searches_and_reads_never_fail_the_server(fhir):
    tally = Tally()

    @FUZZ
    @given(
        resource=st.sampled_from(["Questionnaire", "QuestionnaireResponse", "Observation"]),
        parameters=st.dictionaries(st.sampled_from(SEARCH_PARAMETERS) | st.text(max_size=10),
                                   st.sampled_from(EDGE_VALUES) | st.text(max_size=60), max_size=4),
        strict=st.booleans(),
    )
    def search(resource, parameters, strict) -> None:
        headers = {"HTTP_PREFER": "handling=strict"} if strict else {}
        answer = fhir.api.get(f"/fhir/{resource}", parameters, HTTP_ACCEPT="application/fhir+json", **headers)
        tally.check(f"GET {resource}?{parameters!r:.120} strict={strict}", answer)

    @FUZZ
    @given(resource=st.sampled_from(["Questionnaire", "QuestionnaireResponse", "Observation", "Patient"]),
           identifier=segments, history=st.booleans())
    def read(resource, identifier, history) -> None:
        path = f"/fhir/{resource}/{identifier}" + ("/_history/1" if history else "")
        tally.check(f"GET {path!r:.120}", fhir.api.get(path, HTTP_ACCEPT="application/fhir+json"))

    search()
    read()
    tally.verdict(300)


def test_every_fhir_route_refuses_unauthenticated_callers_with_an_operation_outcome(north):
    anonymous = FhirClient()
    tally = Tally()
    for path in ("/fhir/Questionnaire", "/fhir/Questionnaire/wai-sr", "/fhir/QuestionnaireResponse",
                 "/fhir/Observation", "/fhir/QuestionnaireResponse/x", "/fhir/Observation/x"):
        response = anonymous.get(path)
        tally.check(path, response)
        assert response.status_code == 401, path
    tally.verdict(6)
