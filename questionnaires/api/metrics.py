"""`GET /metrics/`: clinic-wide aggregates read only from the rollups, with small cells suppressed."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.parsing import date_range
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.selectors.metrics import metric_cells
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem

CHOICES = {"group_by": ("clinic", "clinician"), "period": ("week", "month"), "rater": ("client", "clinician")}
DEFAULTS = {"group_by": "clinic", "period": "month", "rater": "client"}
KNOWN_PARAMETERS = {"questionnaire", "group_by", "period", "from", "to", "rater", "format"}

MetricsSerializer = inline_serializer(
    "Metrics",
    {
        "questionnaire": serializers.CharField(),
        "group_by": serializers.CharField(),
        "period": serializers.CharField(),
        "rater": serializers.CharField(),
        "min_cell": serializers.IntegerField(),
        "results": serializers.ListField(child=serializers.DictField()),
    },
)


class MetricsView(ApiView):
    allowed_kinds = frozenset({"api_key", "clinician", "supervisor"})
    audit_object_type = "metrics"
    audit_actions = {"GET": "read"}
    serializer_class = MetricsSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("questionnaire", str, required=True, description="e.g. `srs`"),
            OpenApiParameter("group_by", str, enum=CHOICES["group_by"], description="default `clinic`"),
            OpenApiParameter("period", str, enum=CHOICES["period"], description="default `month`"),
            OpenApiParameter("rater", str, enum=CHOICES["rater"], description="default `client`"),
            OpenApiParameter("from", str, description="first period start, YYYY-MM-DD"),
            OpenApiParameter("to", str, description="last period start, YYYY-MM-DD"),
        ],
        responses={200: MetricsSerializer, **problem_docs(400, 401, 403, 429)},
        summary="Clinic-wide aggregates per period (n, mean, SD, share below cut-off, alerts, reliable change)",
        description=(
            "Read from rollups the workers keep current. Cells with fewer than METRICS_MIN_CELL responses are "
            "suppressed (values null, `suppressed: true`), and so is a second cell wherever one suppressed "
            "clinician cell could be derived from the clinic total. A clinician sees only their own cells, and "
            "no clinic cell from which subtracting their own would leave fewer than METRICS_MIN_CELL responses "
            "or a single other clinician."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _parsed(request.query_params)
        principal = self.principal
        cells = metric_cells(
            clinic_id=principal.clinic_id,
            questionnaire_id=query["questionnaire"],
            group_by=query["group_by"],
            period=query["period"],
            rater=query["rater"],
            date_from=query["from"],
            date_to=query["to"],
            clinician_ids=[principal.user_id] if principal.kind == "clinician" else None,
            viewer_clinician_id=principal.user_id if principal.kind == "clinician" else None,
        )
        self.audit(action="read", detail=f"metrics {query['questionnaire']} by {query['group_by']}")
        return Response(
            {
                "questionnaire": query["questionnaire"],
                "group_by": query["group_by"],
                "period": query["period"],
                "rater": query["rater"],
                "min_cell": settings.METRICS_MIN_CELL,
                "results": [cell.as_dict() for cell in cells],
            }
        )


def _parsed(params) -> dict:
    problems = [Problem(name, "unknown parameter", "unknown") for name in params if name not in KNOWN_PARAMETERS]
    query: dict = {}
    questionnaire = params.get("questionnaire", "")
    if not questionnaire:
        problems.append(Problem("questionnaire", "required, e.g. srs", "required"))
    elif len(questionnaire) > 64:
        problems.append(Problem("questionnaire", "at most 64 characters", "invalid"))
    query["questionnaire"] = questionnaire
    for name, allowed in CHOICES.items():
        value = params.get(name, DEFAULTS[name])
        if value not in allowed:
            problems.append(Problem(name, f"one of {', '.join(allowed)}", "invalid_choice"))
        query[name] = value
    query.update(date_range(params, problems))
    if problems:
        raise InvalidInput("The metrics query is not valid; see errors.", problems)
    return query
