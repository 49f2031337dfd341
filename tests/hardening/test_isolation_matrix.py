"""Cross-clinic isolation, exhaustively: every route (REST and FHIR) x every method x every credential kind of south,
aimed at every object of north. Only 403/404/405 (or, on collections, south's own empty answers) come back, and no
body carries a value of north's.

tests/api/test_permissions.py checks the intended method of each route; this matrix adds every other method,
the FHIR endpoints, and each of north's objects (both clients, responses, alerts, scores, token, webhook).
"""

from __future__ import annotations

import itertools
import json
import re

import pytest

from questionnaires.api.urls import v1_patterns
from questionnaires.models import Alert, ClientToken, Response, Score, WebhookSubscription
from questionnaires.services.scoring import responses_score
from tests.api.conftest import wai_sr
from tests.api.test_permissions import KINDS, caller

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DENIED = {403, 404, 405}
COLLECTION_OK = {200, 201, 400, 403, 404, 405, 422}


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"credential": None, "login": None}
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def object_paths(fixture_world, score_ids: list[int]) -> list[str]:
    """Every path naming one of north's objects: each REST route's parameters filled with each of north's values."""
    values = {
        "external_id": ["north-client-1", fixture_world.other_client],
        "response_id": [fixture_world.response_id, fixture_world.other_response_id],
        "alert_id": [str(fixture_world.alert_id), str(fixture_world.other_alert_id)],
        "prefix": [fixture_world.token_prefix],
        "webhook_id": [str(fixture_world.webhook_id)],
        "username": ["north-clinician", "north-supervisor"],
        "goal_id": ["1"],
        "episode_id": [str(fixture_world.episode_id), str(fixture_world.other_episode_id)],
        "session_id": [str(fixture_world.session_id), str(fixture_world.other_session_id)],
    }
    paths = []
    for pattern in v1_patterns:
        regex = pattern.pattern.regex.pattern.removeprefix("^").removesuffix("/?$")
        names = GROUP.findall(regex)
        if not names or "questionnaire_id" in names:
            continue  # collections are below; questionnaire definitions are shared by every clinic
        template = GROUP.sub(lambda match: "{" + match.group(1) + "}", regex)
        for combination in itertools.product(*(values[name] for name in names)):
            paths.append("/api/v1/" + template.format(**dict(zip(names, combination, strict=True))) + "/")
    for client in values["external_id"]:
        paths.append(f"/fhir/Patient/{client}")
    for response_id in values["response_id"]:
        paths += [f"/fhir/QuestionnaireResponse/{response_id}", f"/fhir/QuestionnaireResponse/{response_id}/_history/1"]
    paths += [f"/fhir/Observation/{score_id}" for score_id in score_ids]
    return paths


def collection_paths() -> list[str]:
    """Collections and searches, pointed at north's client wherever they take a filter."""
    return [
        "/api/v1/clients/", "/api/v1/clients/?clinician=north-clinician", "/api/v1/responses/",
        "/api/v1/responses/?client=north-client-1", "/api/v1/responses/batch/", "/api/v1/alerts/",
        "/api/v1/alerts/?client=north-client-1", "/api/v1/metrics/?questionnaire=wai-sr&group_by=clinician",
        "/api/v1/webhooks/", "/fhir/QuestionnaireResponse?subject=Patient/north-client-1",
        "/fhir/Observation?subject=Patient/north-client-1", "/fhir/Observation?patient=north-client-1",
        "/fhir/QuestionnaireResponse",
    ] + [
        "/api/v1/" + pattern.pattern.regex.pattern.removeprefix("^").removesuffix("/?$") + "/"
        for pattern in v1_patterns
        if not GROUP.search(pattern.pattern.regex.pattern) and pattern.name != "auth-token"
    ]


def body_for(path: str, fixture_world) -> dict | None:
    """A body that names north's objects, for writes."""
    if path.startswith("/fhir/"):
        return {"resourceType": "QuestionnaireResponse", "status": "completed",
                "questionnaire": "http://testserver/fhir/Questionnaire/wai-sr",
                "subject": {"reference": "Patient/north-client-1"}, "authored": "2025-03-04T10:15:00Z", "item": []}
    if "batch" in path:
        return {"responses": [wai_sr("north-client-1"), {**wai_sr("north-client-1"), "id": fixture_world.response_id}]}
    return {**wai_sr("north-client-1"), "external_id": "north-client-1", "url": "https://north.example.org/x",
            "events": ["response.scored"]}


def test_the_matrix_covers_every_rest_route(world):
    from django.urls import resolve

    # Plugin definitions are shared by every clinic; auth/token acts on the caller's own credential only
    # (and revoking it would end the matrix's session).
    covered = {"questionnaire-detail", "auth-token"}
    for path in object_paths(world, []) + collection_paths():
        if path.startswith("/api/v1/"):
            covered.add(resolve(path.split("?")[0]).url_name)
    assert {pattern.name for pattern in v1_patterns} <= covered


@pytest.mark.parametrize("kind", KINDS)
def test_south_reaches_nothing_of_north_on_any_route_or_method(north, south, world, kind):
    north_ids = [world.response_id, world.other_response_id]
    responses_score(response_ids=north_ids)
    score_ids = list(Score.objects.filter(response_id__in=north_ids).values_list("id", flat=True))
    assert score_ids
    secrets = ["north-client-1", "north-other", "north-clinician", "north.example", world.response_id,
               world.other_response_id, world.token_prefix]
    before = set(Response.objects.filter(clinic=north.clinic).values_list("id", "status"))
    api = caller(south, kind)
    seen = 0
    for path in object_paths(world, score_ids) + collection_paths():
        names_object = path in object_paths(world, score_ids)
        for method in METHODS:
            body = body_for(path, world) if method in ("POST", "PUT", "PATCH") else None
            content_type = "application/fhir+json" if path.startswith("/fhir/") else "application/json"
            response = api.generic(method, path, json.dumps(body) if body is not None else "",
                                   content_type=content_type)
            seen += 1
            where = f"{kind} {method} {path} -> {response.status_code}"
            assert response.status_code < 500, where
            assert response.status_code in (DENIED if names_object else COLLECTION_OK), where
            text = response.content.decode(errors="replace")
            # An answer may echo what the caller itself sent (an unknown id, its request line); the rest of
            # north's values must never appear.
            sent = path + (json.dumps(body) if body is not None else "")
            for secret in secrets:
                assert secret in sent or secret not in text, (where, secret, text[:300])
    print(f"isolation matrix ({kind}): {seen} requests, none reached north")
    assert set(Response.objects.filter(clinic=north.clinic).values_list("id", "status")) == before
    assert not ClientToken.objects.get(prefix=world.token_prefix).revoked
    assert not Alert.objects.filter(clinic=north.clinic, acknowledged_at__isnull=False).exists()
    assert WebhookSubscription.objects.get(pk=world.webhook_id).active
