"""`GET /expected-change/`: the clinic's expected change curves (not-on-track alerts) with their provenance."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.change_curves import expected_improvement, lower_limit
from questionnaires.models import ExpectedChangeCurve
from questionnaires.selectors.expected_change import clinic_curves, expected_change_instruments
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem

ExpectedChangeSerializer = inline_serializer(
    "ExpectedChange",
    {
        "questionnaire": serializers.CharField(allow_null=True),
        "min_episodes": serializers.IntegerField(),
        "results": serializers.ListField(child=serializers.DictField()),
    },
)


def curve_as_dict(curve: ExpectedChangeCurve) -> dict:
    """A curve with its provenance and, per session 2..max_session, the expected improvement and the alarm limit."""
    return {
        "questionnaire": curve.questionnaire_id,
        "band": curve.band,
        "source": curve.source,
        "direction": curve.direction,
        "n_episodes": curve.n_episodes,
        "n_points": curve.n_points,
        "fitted_at": curve.fitted_at,
        "intercept": curve.intercept,
        "slope": curve.slope,
        "tolerance": curve.tolerance,
        "max_session": curve.max_session,
        "reference": curve.reference,
        "sessions": [
            {
                "session": session,
                "expected_improvement": round(expected_improvement(curve.intercept, curve.slope, session), 3),
                "limit": round(lower_limit(curve.intercept, curve.slope, curve.tolerance, session), 3),
            }
            for session in range(2, curve.max_session + 1)
        ],
    }


class ExpectedChangeView(ApiView):
    allowed_kinds = frozenset({"api_key", "clinician", "supervisor"})
    audit_object_type = "expected_change_curve"
    audit_actions = {"GET": "list"}
    query_parameters = frozenset({"questionnaire"})
    serializer_class = ExpectedChangeSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("questionnaire", str, description="an outcome instrument, e.g. `phq-9`; all when absent"),
        ],
        responses={200: ExpectedChangeSerializer, **problem_docs(400, 401, 403, 429)},
        summary="Expected change curves of the clinic per outcome instrument and intake band, with provenance",
        description=(
            "improvement(s) = intercept + slope·ln(s), in total points since the episode's intake score, counted "
            "in the instrument's better direction; a client whose improvement at session s is below "
            "improvement(s) − tolerance raises `not_on_track`. Fitted nightly to the clinic's own finished "
            "episodes (least squares, tolerance at the 90th percentile of shortfalls; after Finch, Lambert & "
            "Schaalje 2001). A band with fewer than `min_episodes` finished episodes has no curve, unless the "
            "plugin ships a published norm (`source: published`)."
        ),
    )
    def get(self, request: Request) -> Response:
        questionnaire_id = request.query_params.get("questionnaire")
        if questionnaire_id is not None:
            known = sorted(definition.id for definition in expected_change_instruments())
            if questionnaire_id not in known:
                raise InvalidInput(
                    "The expected change query is not valid; see errors.",
                    [Problem("questionnaire", f"one of {', '.join(known)}", "invalid_choice")],
                )
        curves = clinic_curves(clinic_id=self.principal.clinic_id, questionnaire_id=questionnaire_id)
        self.audit(action="list", object_ids=[curve.id for curve in curves])
        return Response(
            {
                "questionnaire": questionnaire_id,
                "min_episodes": settings.EXPECTED_CHANGE_MIN_EPISODES,
                "results": [curve_as_dict(curve) for curve in curves],
            }
        )
