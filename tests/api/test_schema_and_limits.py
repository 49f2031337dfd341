"""OpenAPI schema and docs, per-credential throttling, and the JSON renderer."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from rest_framework.test import APIClient

from questionnaires.api.renderers import dumps
from questionnaires.api.urls import v1_patterns
from tests.api.conftest import staff_api

pytestmark = pytest.mark.django_db


def test_the_schema_describes_every_route_and_problem_responses():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    documented = {path for path in paths if path.startswith("/api/v1/")}
    assert len(documented) == len(v1_patterns)
    submission = paths["/api/v1/responses/"]["post"]
    assert "application/problem+json" in submission["responses"]["400"]["content"]
    assert {"201", "400", "401", "422"} <= set(submission["responses"])
    assert set(schema["components"]["securitySchemes"]) == {"ApiKey", "StaffToken", "ClientToken"}
    problem = schema["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)


def test_the_docs_page_loads_its_assets_from_this_server():
    page = APIClient().get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr" not in page and "unpkg" not in page


def test_each_credential_has_its_own_rate_limit(north, south, settings, frozen_throttle_clock):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"credential": "3/min"}}
    api = north.api()
    statuses = [api.get("/api/v1/questionnaires/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.get("/api/v1/questionnaires/")
    assert limited["Content-Type"] == "application/problem+json"
    assert limited["Retry-After"] == "50"  # 10 s into the frozen minute
    assert south.api().get("/api/v1/questionnaires/").status_code == 200
    assert staff_api(north.clinician).get("/api/v1/questionnaires/").status_code == 200


def test_decimals_render_as_json_numbers_and_huge_integers_do_not_crash():
    assert dumps({"total": Decimal("36.0000"), "mean": Decimal("4.25")}) == b'{"total":36,"mean":4.25}'
    assert dumps({"n": 10**30}) == b'{"n":1000000000000000000000000000000}'
