"""Routes of the REST API; mounted at /api/ with the schema and docs, versioned under v1/.

Path parameters are plain segments checked by the views, so a malformed id is a 404
problem, not Django's HTML page; the trailing slash is optional.
"""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound

from questionnaires.api.metrics import MetricsView
from questionnaires.api.views.alerts import (
    AlertAcknowledgeView,
    AlertDetailView,
    AlertListView,
    AlertResolveView,
    AlertSnoozeView,
)
from questionnaires.api.views.auth import TokenView
from questionnaires.api.views.care import (
    EpisodeDetailView,
    EpisodeListView,
    EpisodeSessionListView,
    SessionBatchView,
    SessionDetailView,
)
from questionnaires.api.views.clients import (
    ClientDetailView,
    ClientListView,
    ClientScoresView,
    ClientTokenDetailView,
    ClientTokenListView,
)
from questionnaires.api.views.corrections import ResponseHistoryView, ResponseRetractView
from questionnaires.api.views.equity import BackgroundCategoryListView, ClientBackgroundView, EquityView
from questionnaires.api.views.expected_change import ExpectedChangeView
from questionnaires.api.views.goals import GoalDetailView, GoalListView
from questionnaires.api.views.outcomes import EarlyAllianceView, EpisodeOutcomeView, MyProgressView, OutcomesView
from questionnaires.api.views.plans import ClientDueView, ClinicPlanView, CompletionView, EpisodePlanView, MyDueView
from questionnaires.api.views.questionnaires import QuestionnaireDetailView, QuestionnaireListView
from questionnaires.api.views.responses import ResponseBatchView, ResponseDetailView, ResponseListView
from questionnaires.api.views.supervision import ClinicianReportView
from questionnaires.api.webhooks import WebhookDetailView, WebhookListView

SEGMENT = r"[^/]+"


def route(pattern: str, view, name: str):
    """`pattern` uses {name} for a path segment; the trailing slash is optional."""
    regex = pattern
    for part in (
        "external_id", "questionnaire_id", "response_id", "alert_id", "prefix", "goal_id", "username", "episode_id",
        "session_id",
    ):
        regex = regex.replace("{" + part + "}", f"(?P<{part}>{SEGMENT})")
    return re_path(rf"^{regex}/?$", view.as_view(), name=name)


v1_patterns = [
    route("auth/token", TokenView, "auth-token"),
    route("questionnaires", QuestionnaireListView, "questionnaire-list"),
    route("questionnaires/{questionnaire_id}", QuestionnaireDetailView, "questionnaire-detail"),
    route("clients", ClientListView, "client-list"),
    route("clients/{external_id}", ClientDetailView, "client-detail"),
    route("clients/{external_id}/scores", ClientScoresView, "client-scores"),
    route("clients/{external_id}/tokens", ClientTokenListView, "client-token-list"),
    route("clients/{external_id}/tokens/{prefix}", ClientTokenDetailView, "client-token-detail"),
    route("responses", ResponseListView, "response-list"),
    route("responses/batch", ResponseBatchView, "response-batch"),
    route("responses/{response_id}", ResponseDetailView, "response-detail"),
    route("responses/{response_id}/retract", ResponseRetractView, "response-retract"),
    route("responses/{response_id}/history", ResponseHistoryView, "response-history"),
    route("alerts", AlertListView, "alert-list"),
    route("alerts/{alert_id}/acknowledge", AlertAcknowledgeView, "alert-acknowledge"),
    route("alerts/{alert_id}/snooze", AlertSnoozeView, "alert-snooze"),
    route("alerts/{alert_id}/resolve", AlertResolveView, "alert-resolve"),
    route("metrics", MetricsView, "metrics"),
    route("webhooks", WebhookListView, "webhook-list"),
    re_path(rf"^webhooks/(?P<webhook_id>{SEGMENT})/?$", WebhookDetailView.as_view(), name="webhook-detail"),
    # Alliance practice: the client's words on alerts, supervision, shared goals, equity.
    route("alerts/{alert_id}", AlertDetailView, "alert-detail"),
    route("clinicians/{username}/report", ClinicianReportView, "clinician-report"),
    route("clients/{external_id}/goals", GoalListView, "client-goal-list"),
    route("clients/{external_id}/goals/{goal_id}", GoalDetailView, "client-goal-detail"),
    route("clients/{external_id}/background", ClientBackgroundView, "client-background"),
    route("background-categories", BackgroundCategoryListView, "background-category-list"),
    route("equity", EquityView, "equity"),
    # Course of care: episodes, their sessions and attendance.
    route("clients/{external_id}/episodes", EpisodeListView, "client-episode-list"),
    route("episodes/{episode_id}", EpisodeDetailView, "episode-detail"),
    route("episodes/{episode_id}/sessions", EpisodeSessionListView, "episode-session-list"),
    route("sessions/batch", SessionBatchView, "session-batch"),
    route("sessions/{session_id}", SessionDetailView, "session-detail"),
    route("measurement-plan", ClinicPlanView, "clinic-measurement-plan"),
    route("episodes/{episode_id}/measurement-plan", EpisodePlanView, "episode-measurement-plan"),
    route("clients/{external_id}/due", ClientDueView, "client-due"),
    route("me/due", MyDueView, "my-due"),
    # Not on track: the clinic's expected change curves.
    route("expected-change", ExpectedChangeView, "expected-change"),
    route("completion", CompletionView, "completion"),
    # Outcomes and adherence per episode and clinic-wide.
    route("episodes/{episode_id}/outcome", EpisodeOutcomeView, "episode-outcome"),
    route("outcomes", OutcomesView, "outcomes"),
    route("outcomes/early-alliance", EarlyAllianceView, "outcomes-early-alliance"),
    route("me/progress", MyProgressView, "my-progress"),
]


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def not_found(request, path: str = ""):
    """Unknown paths under /api/v1/ answer a problem document like every other error there."""
    raise NotFound("No such endpoint.")


urlpatterns = [
    path("v1/", include((v1_patterns, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    re_path(r"^v1/(?P<path>.*)$", not_found, name="api-not-found"),
]
