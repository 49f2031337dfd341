"""Who may do what: a role matrix per endpoint, and a table over every route proving the other clinic sees nothing.

`ISOLATION` must name every route in `questionnaires.api.urls.v1_patterns`, so a new route
cannot be added without saying how another clinic is kept out of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from questionnaires.api.urls import v1_patterns
from questionnaires.models import (
    Alert,
    CareSession,
    ClientToken,
    EpisodeOfCare,
    MeasurementPlan,
    Response,
    WebhookSubscription,
)
from questionnaires.services.credentials import client_token_issue
from tests.api.conftest import authorized, client_token_api, staff_api, wai_sr
from tests.factories import TherapyClientFactory

pytestmark = pytest.mark.django_db

KINDS = ("api_key", "supervisor", "clinician", "client_token")


def caller(persona, kind: str):
    if kind == "api_key":
        return persona.api()
    if kind == "supervisor":
        return staff_api(persona.supervisor)
    if kind == "clinician":
        return staff_api(persona.clinician)
    return client_token_api(persona.client)


@dataclass
class World:
    """North's objects: a response, an alert and a client token on north-client-1, and a client off the caseload."""

    response_id: str
    alert_id: int
    token_prefix: str
    webhook_id: int = 0
    other_client: str = "north-other"
    other_response_id: str = ""
    other_alert_id: int = 0
    episode_id: int = 0
    session_id: int = 0
    other_episode_id: int = 0
    other_session_id: int = 0
    values: dict = field(default_factory=dict)

    def fill(self, template: str) -> str:
        return template.format(
            client="north-client-1", response=self.response_id, alert=self.alert_id, token=self.token_prefix,
            webhook=self.webhook_id,
            other_client=self.other_client, other_response=self.other_response_id, other_alert=self.other_alert_id,
            episode=self.episode_id, session=self.session_id, other_episode=self.other_episode_id,
            other_session=self.other_session_id,
        )


@pytest.fixture
def world(north) -> World:
    api = north.api()
    other = TherapyClientFactory(clinic=north.clinic, external_id="north-other")
    response_id = api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").json()["id"]
    other_response_id = api.post("/api/v1/responses/", wai_sr("north-other"), format="json").json()["id"]
    alert = Alert.objects.create(
        clinic=north.clinic, client=north.client, questionnaire_id="wai-sr", kind="rupture", message="m",
        response_id=response_id,
    )
    other_alert = Alert.objects.create(
        clinic=north.clinic, client=other, questionnaire_id="wai-sr", kind="rupture", message="m"
    )
    token, _ = client_token_issue(client=north.client)
    webhook = WebhookSubscription.objects.create(
        clinic=north.clinic, url="https://north.example.org/hook", events=["response.scored"], secret="s" * 32
    )
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date="2026-01-05", primary_clinician=north.clinician
    )
    session = CareSession.objects.create(
        clinic=north.clinic, episode=episode, scheduled_start="2026-01-05T10:00:00Z", external_id="north-s1"
    )
    other_episode = EpisodeOfCare.objects.create(clinic=north.clinic, client=other, start_date="2026-01-05")
    other_session = CareSession.objects.create(
        clinic=north.clinic, episode=other_episode, scheduled_start="2026-01-05T11:00:00Z", external_id="north-s2"
    )
    return World(
        response_id=response_id, alert_id=alert.id, token_prefix=token.prefix, webhook_id=webhook.id,
        other_response_id=other_response_id, other_alert_id=other_alert.id, episode_id=episode.pk,
        session_id=session.pk, other_episode_id=other_episode.pk, other_session_id=other_session.pk,
    )


# --- isolation: every route, every kind of credential of the other clinic ------------------------------


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    body: object = None
    allowed: frozenset[int] = frozenset({404})


EXEMPT = "exempt"
ISOLATION: dict[str, list[Probe] | tuple[str, str]] = {
    "auth-token": (EXEMPT, "issues or revokes the caller's own credential; reaches no clinic object"),
    "questionnaire-list": (EXEMPT, "plugin definitions are shared by every clinic"),
    "questionnaire-detail": (EXEMPT, "plugin definitions are shared by every clinic"),
    "client-list": [
        Probe("GET", "/api/v1/clients/", allowed=frozenset({200, 403})),
        Probe("GET", "/api/v1/clients/?clinician=north-clinician", allowed=frozenset({200, 403})),
        # Creating the same external_id in one's own clinic is fine; a 409 would reveal north's client.
        Probe("POST", "/api/v1/clients/", {"external_id": "{client}"}, allowed=frozenset({201, 403})),
    ],
    "client-detail": [Probe("GET", "/api/v1/clients/{client}/")],
    "client-scores": [Probe("GET", "/api/v1/clients/{client}/scores/")],
    "client-token-list": [
        Probe("GET", "/api/v1/clients/{client}/tokens/"),
        Probe("POST", "/api/v1/clients/{client}/tokens/", {}),
    ],
    "client-token-detail": [Probe("DELETE", "/api/v1/clients/{client}/tokens/{token}/")],
    "response-list": [
        Probe("GET", "/api/v1/responses/", allowed=frozenset({200})),
        Probe("GET", "/api/v1/responses/?client={client}", allowed=frozenset({200})),
        Probe("POST", "/api/v1/responses/", "north-submission", allowed=frozenset({400})),
    ],
    "response-batch": [Probe("POST", "/api/v1/responses/batch/", "north-batch", allowed=frozenset({200}))],
    "response-detail": [
        Probe("GET", "/api/v1/responses/{response}/"),
        Probe("PATCH", "/api/v1/responses/{response}/", {"answers": {"1": 1}, "reason": "typo"}),
    ],
    "response-retract": [Probe("POST", "/api/v1/responses/{response}/retract/", {"reason": "wrong client"})],
    "response-history": [Probe("GET", "/api/v1/responses/{response}/history/")],
    "alert-list": [
        Probe("GET", "/api/v1/alerts/", allowed=frozenset({200, 403})),
        Probe("GET", "/api/v1/alerts/?client={client}", allowed=frozenset({200, 403})),
    ],
    "alert-acknowledge": [Probe("POST", "/api/v1/alerts/{alert}/acknowledge/")],
    "alert-snooze": [Probe("POST", "/api/v1/alerts/{alert}/snooze/", {"until": "2999-01-01T00:00:00Z", "reason": "r"})],
    "alert-resolve": [Probe("POST", "/api/v1/alerts/{alert}/resolve/", {"reason": "r"})],
    "metrics": [
        Probe("GET", "/api/v1/metrics/?questionnaire=wai-sr", allowed=frozenset({200, 403})),
        Probe("GET", "/api/v1/metrics/?questionnaire=wai-sr&group_by=clinician", allowed=frozenset({200, 403})),
    ],
    "webhook-list": [Probe("GET", "/api/v1/webhooks/", allowed=frozenset({200, 403}))],
    "webhook-detail": [Probe("GET", "/api/v1/webhooks/{webhook}/"), Probe("DELETE", "/api/v1/webhooks/{webhook}/")],
    # Alliance practice.
    "alert-detail": [Probe("GET", "/api/v1/alerts/{alert}/")],
    "clinician-report": [Probe("GET", "/api/v1/clinicians/north-clinician/report/", allowed=frozenset({403, 404}))],
    "client-goal-list": [
        Probe("GET", "/api/v1/clients/{client}/goals/"),
        Probe("POST", "/api/v1/clients/{client}/goals/", {"text": "a goal"}),
    ],
    "client-goal-detail": [
        Probe("GET", "/api/v1/clients/{client}/goals/1/"),
        Probe("PATCH", "/api/v1/clients/{client}/goals/1/", {"status": "achieved"}),
    ],
    "client-background": [
        Probe("POST", "/api/v1/clients/{client}/background/", {"category": "language", "consent": False}),
    ],
    "background-category-list": [Probe("GET", "/api/v1/background-categories/", allowed=frozenset({200, 403}))],
    "equity": [Probe("GET", "/api/v1/equity/?questionnaire=srs&category=language", allowed=frozenset({400, 403}))],
    # Course of care.
    "client-episode-list": [
        Probe("GET", "/api/v1/clients/{client}/episodes/"),
        Probe("POST", "/api/v1/clients/{client}/episodes/", {}),
    ],
    "episode-detail": [
        Probe("GET", "/api/v1/episodes/{episode}/"),
        Probe("PATCH", "/api/v1/episodes/{episode}/", {"status": "finished", "end_reason": "completed"}),
    ],
    "episode-session-list": [
        Probe("GET", "/api/v1/episodes/{episode}/sessions/", allowed=frozenset({403, 404})),
        Probe("POST", "/api/v1/episodes/{episode}/sessions/", {"scheduled_start": "2026-01-12T10:00:00Z"},
              allowed=frozenset({403, 404})),
    ],
    "session-detail": [
        Probe("GET", "/api/v1/sessions/{session}/", allowed=frozenset({403, 404})),
        Probe("PATCH", "/api/v1/sessions/{session}/", {"attendance": "did_not_attend"}, allowed=frozenset({403, 404})),
    ],
    "session-batch": [Probe("POST", "/api/v1/sessions/batch/", "north-session-batch", allowed=frozenset({200, 403}))],
    "clinic-measurement-plan": [
        Probe("GET", "/api/v1/measurement-plan/", allowed=frozenset({200, 403})),
        Probe("PUT", "/api/v1/measurement-plan/", {"rules": []}, allowed=frozenset({200, 403})),
    ],
    "episode-measurement-plan": [
        Probe("GET", "/api/v1/episodes/{episode}/measurement-plan/"),
        Probe("PUT", "/api/v1/episodes/{episode}/measurement-plan/", {"rules": []}),
        Probe("DELETE", "/api/v1/episodes/{episode}/measurement-plan/"),
    ],
    "client-due": [Probe("GET", "/api/v1/clients/{client}/due/")],
    "my-due": [Probe("GET", "/api/v1/me/due/", allowed=frozenset({200, 403}))],
    # Not on track: the clinic's own expected change curves only.
    "expected-change": [
        Probe("GET", "/api/v1/expected-change/", allowed=frozenset({200, 403})),
        Probe("GET", "/api/v1/expected-change/?questionnaire=phq-9", allowed=frozenset({200, 403})),
    ],
    "completion": [
        Probe("GET", "/api/v1/completion/?group_by=clinician&from=2020-01-01", allowed=frozenset({200, 403})),
    ],
    # Outcomes and adherence.
    "episode-outcome": [Probe("GET", "/api/v1/episodes/{episode}/outcome/")],
    "outcomes": [Probe("GET", "/api/v1/outcomes/?group_by=clinician", allowed=frozenset({200, 403}))],
    "outcomes-early-alliance": [
        Probe("GET", "/api/v1/outcomes/early-alliance/?group_by=clinician", allowed=frozenset({200, 403})),
    ],
    "my-progress": [Probe("GET", "/api/v1/me/progress/", allowed=frozenset({200, 403}))],
}


def test_every_route_has_an_isolation_entry():
    assert {pattern.name for pattern in v1_patterns} == set(ISOLATION)


def _body(probe: Probe, world: World):
    if probe.body == "north-submission":
        return wai_sr("north-client-1")
    if probe.body == "north-session-batch":
        return {"sessions": [
            {"external_id": "north-s1", "attendance": "did_not_attend"},
            {"external_id": "new-s", "episode": world.episode_id, "scheduled_start": "2026-01-12T10:00:00Z"},
            {"external_id": "new-t", "client": "north-client-1", "scheduled_start": "2026-01-12T10:00:00Z"},
        ]}
    if probe.body == "north-batch":
        return {"responses": [wai_sr("north-client-1"), {**wai_sr("north-client-1"), "id": world.response_id}]}
    if isinstance(probe.body, dict):
        return {key: world.fill(value) if isinstance(value, str) else value for key, value in probe.body.items()}
    return probe.body


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", sorted(name for name, entry in ISOLATION.items() if isinstance(entry, list)))
def test_the_other_clinic_gets_404_or_nothing_of_north(north, south, world, kind, route):
    api = caller(south, kind)
    north_responses = set(Response.objects.filter(clinic=north.clinic).values_list("id", flat=True))
    for probe in ISOLATION[route]:
        path = world.fill(probe.path)
        response = getattr(api, probe.method.lower())(path, _body(probe, world), format="json")
        assert response.status_code in probe.allowed, (probe, response.status_code, response.content)
        shown = response.json() if response.content else {}
        if isinstance(shown, dict):
            shown.pop("instance", None)  # the caller's own request path, echoed back
        text = str(shown)
        for secret in ("north-client-1", "north-clinician", world.response_id, world.token_prefix, "north.example"):
            assert secret not in text or probe.method == "POST" and response.status_code in (201, 400), (probe, text)
        if response.status_code == 200 and "results" in response.json():
            assert all("north" not in str(row) for row in response.json()["results"])
        if route == "response-batch":
            assert [row["status"] for row in response.json()["results"]] == [400, 409]
        if route == "session-batch" and response.status_code == 200:
            # south's own new session id, north's episode and client unknown: nothing of north is touched
            assert [row["status"] for row in response.json()["results"]] == [400, 400, 400]
    assert set(Response.objects.filter(clinic=north.clinic).values_list("id", flat=True)) == north_responses
    assert not ClientToken.objects.get(prefix=world.token_prefix).revoked
    assert Alert.objects.get(pk=world.alert_id).acknowledged_at is None
    assert WebhookSubscription.objects.get(pk=world.webhook_id).active
    assert EpisodeOfCare.objects.get(pk=world.episode_id).status == "active"
    assert CareSession.objects.get(pk=world.session_id).attendance == "booked"
    assert CareSession.objects.filter(clinic=north.clinic).count() == 2
    assert not MeasurementPlan.objects.filter(clinic=north.clinic).exists()


def test_unknown_paths_under_the_api_are_404_problems(north):
    response = north.api().get("/api/v1/patients/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_wrong_method_is_a_405_problem(north):
    response = north.api().put("/api/v1/responses/", {}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"


# --- the role matrix inside one clinic ------------------------------------------------------------------

# (method, path, body, {kind: expected status}); "other" objects belong to a client off the clinician's caseload.
MATRIX = [
    ("GET", "/api/v1/questionnaires/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/questionnaires/srs/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/clients/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("POST", "/api/v1/clients/", {"external_id": "new-one"},
     dict(api_key=201, supervisor=201, clinician=403, client_token=403)),
    ("GET", "/api/v1/clients/{client}/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/clients/{other_client}/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("GET", "/api/v1/clients/{client}/scores/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/clients/{other_client}/scores/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("GET", "/api/v1/clients/{client}/tokens/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("POST", "/api/v1/clients/{client}/tokens/", {},
     dict(api_key=201, supervisor=201, clinician=201, client_token=403)),
    ("POST", "/api/v1/clients/{other_client}/tokens/", {},
     dict(api_key=201, supervisor=201, clinician=404, client_token=404)),
    ("DELETE", "/api/v1/clients/{client}/tokens/{token}/", None,
     dict(api_key=204, supervisor=204, clinician=204, client_token=403)),
    ("GET", "/api/v1/responses/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("POST", "/api/v1/responses/", "own", dict(api_key=201, supervisor=201, clinician=201, client_token=201)),
    ("POST", "/api/v1/responses/", "other", dict(api_key=201, supervisor=201, clinician=400, client_token=400)),
    ("POST", "/api/v1/responses/batch/", "batch", dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/responses/{response}/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/responses/{other_response}/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("GET", "/api/v1/alerts/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("POST", "/api/v1/alerts/{alert}/acknowledge/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=404)),
    ("POST", "/api/v1/alerts/{other_alert}/acknowledge/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("DELETE", "/api/v1/auth/token/", None, dict(api_key=403, supervisor=204, clinician=204, client_token=204)),
    ("GET", "/api/v1/alerts/{alert}/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=404)),
    ("GET", "/api/v1/alerts/{other_alert}/", None, dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("GET", "/api/v1/clinicians/north-clinician/report/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/clinicians/north-supervisor/report/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=403)),
    ("GET", "/api/v1/clients/{client}/goals/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/clients/{other_client}/goals/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("GET", "/api/v1/background-categories/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/equity/?questionnaire=srs&category=none", None,
     dict(api_key=400, supervisor=400, clinician=403, client_token=403)),
    ("GET", "/api/v1/expected-change/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    # Course of care: a client token reads its own episodes and nothing else.
    ("GET", "/api/v1/clients/{client}/episodes/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/clients/{other_client}/episodes/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("POST", "/api/v1/clients/{other_client}/episodes/", {},
     dict(api_key=409, supervisor=409, clinician=404, client_token=404)),
    ("GET", "/api/v1/episodes/{episode}/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=200)),
    ("GET", "/api/v1/episodes/{other_episode}/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("PATCH", "/api/v1/episodes/{episode}/", {"referral_date": "2026-01-01"},
     dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/episodes/{episode}/sessions/", None,
     dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/episodes/{other_episode}/sessions/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("POST", "/api/v1/episodes/{episode}/sessions/", {"scheduled_start": "2026-01-12T10:00:00Z"},
     dict(api_key=201, supervisor=201, clinician=201, client_token=403)),
    ("PATCH", "/api/v1/sessions/{session}/", {"attendance": "attended"},
     dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("PATCH", "/api/v1/sessions/{other_session}/", {"attendance": "attended"},
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("POST", "/api/v1/sessions/batch/", {"sessions": [{"external_id": "north-s2", "attendance": "attended"}]},
     dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/clients/{client}/due/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/clients/{other_client}/due/", None,
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
    ("GET", "/api/v1/me/due/", None, dict(api_key=403, supervisor=403, clinician=403, client_token=200)),
    ("GET", "/api/v1/measurement-plan/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("GET", "/api/v1/completion/", None, dict(api_key=200, supervisor=200, clinician=200, client_token=403)),
    ("PUT", "/api/v1/episodes/{other_episode}/measurement-plan/", {"rules": []},
     dict(api_key=200, supervisor=200, clinician=404, client_token=404)),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method, path, body, expected", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_the_role_matrix(north, world, kind, method, path, body, expected):
    api = caller(north, kind)
    if body == "own":
        body = wai_sr("north-client-1")
    elif body == "other":
        body = wai_sr("north-other")
    elif body == "batch":
        body = {"responses": [wai_sr("north-client-1")]}
    response = getattr(api, method.lower())(world.fill(path), body, format="json")
    assert response.status_code == expected[kind], response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"


def test_a_client_token_lists_only_its_own_responses(north, world):
    rows = client_token_api(north.client).get("/api/v1/responses/").json()["results"]
    assert {row["client"] for row in rows} == {"north-client-1"}


def test_a_client_token_sees_no_alerts_in_its_trajectory(north, world):
    points = client_token_api(north.client).get("/api/v1/clients/north-client-1/scores/").json()["points"]
    assert all("alerts" not in point for point in points)


def test_no_credential_is_401_on_every_route(world):
    anonymous = authorized("")
    for pattern in v1_patterns:
        if pattern.name == "auth-token":
            continue
        for probe in ISOLATION.get(pattern.name, []) if isinstance(ISOLATION[pattern.name], list) else [
            Probe("GET", "/api/v1/questionnaires/" if pattern.name == "questionnaire-list" else
                  "/api/v1/questionnaires/srs/")
        ]:
            response = getattr(anonymous, probe.method.lower())(world.fill(probe.path), {}, format="json")
            assert response.status_code == 401, (pattern.name, probe)
            assert response["WWW-Authenticate"]
