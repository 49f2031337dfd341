"""Numbers, dates and bodies the REST API cannot read are 400 problems naming the parameter, never 500s."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import problem_fields, staff_api

pytestmark = pytest.mark.django_db

NOT_UTF8 = b'{"username": "\xff\xfe", "password": "x"}'


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/metrics/", {"questionnaire": "srs", "from": "0001-01-01"}, "from"),
        ("/api/v1/metrics/", {"questionnaire": "srs", "to": "9999-12-31"}, "to"),
        ("/api/v1/metrics/", {"questionnaire": "srs", "to": "２０２４-01-01"}, "to"),
        ("/api/v1/clinicians/north-clinician/report/", {"from": "0001-01-01"}, "from"),
        ("/api/v1/clinicians/north-clinician/report/", {"to": "9999-12-31"}, "to"),
        ("/api/v1/responses/", {"authored_after": "0001-01-01T00:00:00+14:00"}, "authored_after"),
        ("/api/v1/responses/", {"authored_before": "9999-12-31T23:59:59-14:00"}, "authored_before"),
        ("/api/v1/alerts/", {"raised_after": "0001-01-01T00:00:00Z"}, "raised_after"),
        ("/api/v1/clients/", {"created_before": "9999-12-31T23:00:00Z"}, "created_before"),
    ],
)
def test_a_date_at_the_calendars_ends_is_a_400_naming_the_parameter(north, path, params, field):
    answer = staff_api(north.supervisor).get(path, params)
    assert answer.status_code == 400, answer.content
    assert field in problem_fields(answer)


def test_a_date_a_year_inside_the_calendar_is_read(north):
    api = staff_api(north.supervisor)
    weekly = {"questionnaire": "srs", "period": "week", "to": "9998-12-31"}
    assert api.get("/api/v1/metrics/", weekly).status_code == 200
    assert api.get("/api/v1/clinicians/north-clinician/report/",
                   {"from": "0002-01-01", "to": "9998-12-31"}).status_code == 200


@pytest.mark.parametrize("segment", ["²", "٣", "9" * 30, "0", "-1"])
@pytest.mark.parametrize("template", ["/api/v1/alerts/{}/", "/api/v1/alerts/{}/acknowledge/", "/api/v1/webhooks/{}/",
                                      "/api/v1/clients/north-client-1/goals/{}/"])
def test_an_id_that_is_not_plain_digits_in_bounds_is_a_404(north, template, segment):
    api = north.api()
    method = api.post if template.endswith("acknowledge/") else api.get
    answer = method(template.format(segment))
    assert answer.status_code == 404, answer.content


@pytest.mark.parametrize(
    "path",
    ["/api/v1/auth/token/", "/api/v1/responses/", "/api/v1/responses/batch/", "/api/v1/clients/", "/api/v1/webhooks/",
     "/api/v1/background-categories/", "/api/v1/clients/north-client-1/goals/",
     "/api/v1/clients/north-client-1/background/", "/api/v1/clients/north-client-1/tokens/"],
)
def test_a_body_that_is_not_utf8_is_a_400_on_every_json_endpoint(north, path):
    answer = north.api().generic("POST", path, NOT_UTF8, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"][0]["code"] == "parse_error"
    assert "UTF-8" in answer.json()["detail"]


def test_the_unauthenticated_login_answers_a_non_utf8_body_with_a_400():
    answer = APIClient().generic("POST", "/api/v1/auth/token/", NOT_UTF8, content_type="application/json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
