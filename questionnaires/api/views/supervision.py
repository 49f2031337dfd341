"""`GET /clinicians/{username}/report/`: supervision feedback for one clinician beside the clinic's figures.

A clinician reads only their own report; supervisors and API keys read any clinician of their
clinic; anyone else's name (or another clinic's) is a 404.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.parsing import date_range
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.registry import get_registry
from questionnaires.selectors.supervision import clinician_report
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem

KNOWN_PARAMETERS = {"questionnaire", "outcome", "from", "to", "format"}

ReportSerializer = inline_serializer(
    "ClinicianReport",
    {
        "clinician": serializers.CharField(),
        "alliance_questionnaire": serializers.CharField(),
        "outcome_questionnaire": serializers.CharField(allow_null=True),
        "min_cell": serializers.IntegerField(),
        "clinician_figures": serializers.DictField(allow_null=True),
        "clinic_figures": serializers.DictField(allow_null=True),
        "trend": serializers.ListField(child=serializers.DictField()),
    },
)


def clinician_visible(principal, username: str):
    """The clinic's active staff user of that name, if this caller may read their report."""
    if not username or len(username) > 150 or "\x00" in username:
        return None
    if principal.kind == "clinician" and principal.user.username != username:
        return None
    return (
        get_user_model()
        .objects.filter(username=username, membership__clinic_id=principal.clinic_id, is_active=True)
        .first()
    )


def report_query(params) -> dict:
    problems = [Problem(name, "unknown parameter", "unknown") for name in params if name not in KNOWN_PARAMETERS]
    registry = get_registry()
    query: dict = {"questionnaire": params.get("questionnaire", "srs"), "outcome": params.get("outcome", "ors")}
    alliance = registry.get(query["questionnaire"]) if len(query["questionnaire"]) <= 64 else None
    if alliance is None or alliance.construct != "alliance":
        problems.append(Problem("questionnaire", "an alliance questionnaire id, e.g. srs", "invalid"))
    if query["outcome"]:
        outcome = registry.get(query["outcome"]) if len(query["outcome"]) <= 64 else None
        if outcome is None or outcome.construct not in ("outcome", "symptom"):
            problems.append(Problem("outcome", "an outcome questionnaire id, e.g. ors (or empty)", "invalid"))
    query.update(date_range(params, problems))
    if problems:
        raise InvalidInput("The report query is not valid; see errors.", problems)
    return query


class ClinicianReportView(ApiView):
    allowed_kinds = frozenset({"api_key", "clinician", "supervisor"})
    audit_object_type = "clinician_report"
    audit_actions = {"GET": "read"}
    serializer_class = ReportSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("questionnaire", str, description="alliance instrument, default `srs`"),
            OpenApiParameter("outcome", str, description="outcome instrument, default `ors`; empty for none"),
            OpenApiParameter("from", str, description="first day, YYYY-MM-DD"),
            OpenApiParameter("to", str, description="last day, YYYY-MM-DD"),
        ],
        responses={200: ReportSerializer, **problem_docs(400, 401, 403, 404, 429)},
        summary="Supervision feedback for one clinician, beside the clinic (n and 95% CI per figure)",
        description=(
            "Alliance mean and monthly trend against the clinic's, share of sessions below the cut-off, "
            "ruptures per session and share repaired, client-minus-clinician rating gap, and reliable "
            "improvement / deterioration rates per client. Wilson intervals for shares, t intervals for means; "
            "figures resting on fewer than METRICS_MIN_CELL sessions or clients are suppressed."
        ),
    )
    def get(self, request: Request, username: str) -> Response:
        clinician = clinician_visible(self.principal, username)
        if clinician is None:
            raise NotFound("No such clinician.")
        query = report_query(request.query_params)
        report = clinician_report(
            clinic_id=self.principal.clinic_id,
            clinician=clinician,
            alliance_questionnaire=query["questionnaire"],
            outcome_questionnaire=query["outcome"] or None,
            date_from=query["from"],
            date_to=query["to"],
            viewer_is_clinician=self.principal.kind == "clinician",
        )
        self.audit(action="read", object_ids=[clinician.username])
        return Response(report)
