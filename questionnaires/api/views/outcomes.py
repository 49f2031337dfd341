"""Outcomes and adherence over REST: `/episodes/{id}/outcome/` and the clinic-wide `/outcomes/`."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.parsing import date_range
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.api.views.care import EpisodeScopedView
from questionnaires.api.views.clients import STAFF_AND_KEYS
from questionnaires.selectors.client_progress import client_progress
from questionnaires.selectors.early_alliance import NoCutoff, early_alliance_table
from questionnaires.selectors.episode_outcomes import episode_outcome_get
from questionnaires.selectors.outcome_rollups import PERIODS, outcome_tables
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem

EpisodeOutcomeSerializer = inline_serializer(
    "EpisodeOutcome",
    {
        "episode": serializers.IntegerField(),
        "status": serializers.CharField(),
        "end_date": serializers.DateField(allow_null=True),
        "adherence": serializers.DictField(),
        "outcomes": serializers.ListField(child=serializers.DictField()),
    },
)
OutcomesSerializer = inline_serializer(
    "Outcomes",
    {
        "group_by": serializers.CharField(),
        "period": serializers.CharField(),
        "min_cell": serializers.IntegerField(),
        "results": serializers.ListField(child=serializers.DictField()),
    },
)
ProgressSerializer = inline_serializer(
    "ClientProgress",
    {
        "instruments": serializers.ListField(child=serializers.DictField()),
        "goals": serializers.ListField(child=serializers.DictField()),
    },
)
CHOICES = {"group_by": ("clinic", "clinician"), "period": PERIODS}
DEFAULTS = {"group_by": "clinic", "period": "month"}


class EpisodeOutcomeView(EpisodeScopedView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "episode"
    audit_actions = {"GET": "read"}
    serializer_class = EpisodeOutcomeSerializer

    @extend_schema(
        responses={200: EpisodeOutcomeSerializer, **problem_docs(401, 403, 404, 429)},
        summary="The episode's adherence and, per outcome instrument, first and last score, change and recovery",
        description=(
            "Client-rated scores linked to the episode's sessions (retracted ones left out, amended ones in their "
            "current version). An instrument counts with scores from two or more sessions; reliable improvement "
            "/ deterioration use the instrument's published reliable-change value, caseness its clinical cut-off; "
            "recovered = case at the first score and not at the last; reliably recovered = recovered and reliably "
            "improved. Attendance rate = attended / (attended + did not attend + cancelled by client). See the "
            "README, 'Outcomes and adherence'."
        ),
    )
    def get(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        outcome = episode_outcome_get(episode=episode)
        self.audit(action="read", object_ids=[episode.pk], detail=f"outcome, client {episode.client.external_id}")
        return Response(outcome)


class OutcomesView(ApiView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "outcomes"
    audit_actions = {"GET": "read"}
    query_parameters = frozenset({"group_by", "period", "from", "to"})
    serializer_class = OutcomesSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", str, enum=CHOICES["group_by"], description="default `clinic`"),
            OpenApiParameter("period", str, enum=CHOICES["period"], description="episodes' end; default `month`"),
            OpenApiParameter("from", str, description="first day, YYYY-MM-DD (its period is included)"),
            OpenApiParameter("to", str, description="last period start, YYYY-MM-DD"),
        ],
        responses={200: OutcomesSerializer, **problem_docs(400, 401, 403, 429)},
        summary="Recovery, reliable improvement and deterioration, dropout and attendance of finished episodes",
        description=(
            "Read from rollups the workers keep current, per period of the episodes' end and per clinic or primary "
            "clinician. Every rate comes with its numerator, n and a 95% Wilson interval. Cells resting on fewer "
            "than METRICS_MIN_CELL episodes are suppressed, and so is a second cell wherever one suppressed "
            "clinician cell could be derived from the clinic total; a clinician sees only their own cells, and "
            "no clinic cell from which subtracting their own would leave fewer than METRICS_MIN_CELL episodes or "
            "a single colleague. These are associations in routine data, not effects of any one clinician."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _parsed(request.query_params)
        principal = self.principal
        is_clinician = principal.kind == "clinician"
        results = outcome_tables(
            clinic_id=principal.clinic_id,
            group_by=query["group_by"],
            period=query["period"],
            date_from=query["from"],
            date_to=query["to"],
            clinician_ids=[principal.user_id] if is_clinician else None,
            viewer_clinician_id=principal.user_id if is_clinician else None,
        )
        self.audit(action="read", detail=f"outcomes by {query['group_by']}")
        return Response(
            {
                "group_by": query["group_by"],
                "period": query["period"],
                "min_cell": settings.METRICS_MIN_CELL,
                "results": results,
            }
        )


def _parsed(params) -> dict:
    problems: list[Problem] = []
    query: dict = {}
    for name, allowed in CHOICES.items():
        value = params.get(name, DEFAULTS[name])
        if value not in allowed:
            problems.append(Problem(name, f"one of {', '.join(allowed)}", "invalid_choice"))
        query[name] = value
    query.update(date_range(params, problems))
    if problems:
        raise InvalidInput("The outcomes query is not valid; see errors.", problems)
    return query


class MyProgressView(ApiView):
    allowed_kinds = frozenset({"client_token"})
    audit_object_type = "progress"
    audit_actions = {"GET": "read"}
    serializer_class = ProgressSerializer

    @extend_schema(
        responses={200: ProgressSerializer, **problem_docs(401, 403, 429)},
        summary="For a client's app: the client's own progress on the instruments their clinic shows, and goals",
        description=(
            "Only this client's own ratings (never a clinician's), only on instruments the clinic shows clients "
            "(alliance instruments are hidden unless the clinic turns them on), as date, session and total with a "
            "plain-words summary; never bands, flags or alerts."
        ),
    )
    def get(self, request: Request) -> Response:
        client = self.principal.therapy_client
        body = client_progress(client=client)
        self.audit(action="read", object_ids=[client.external_id])
        return Response(body)


EarlyAllianceSerializer = inline_serializer(
    "EarlyAlliance",
    {
        "alliance": serializers.CharField(),
        "outcome": serializers.CharField(),
        "cutoff": serializers.DictField(),
        "early_scores": serializers.IntegerField(),
        "wording": serializers.CharField(),
        "groups": serializers.ListField(child=serializers.DictField()),
    },
)


class EarlyAllianceView(ApiView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "outcomes"
    audit_actions = {"GET": "read"}
    query_parameters = frozenset({"alliance", "outcome", "group_by", "from", "to"})
    serializer_class = EarlyAllianceSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("alliance", str, description="alliance instrument with a cut-off; default `srs`"),
            OpenApiParameter("outcome", str, description="outcome instrument for reliable recovery; default `ors`"),
            OpenApiParameter("group_by", str, enum=CHOICES["group_by"], description="default `clinic`"),
            OpenApiParameter("from", str, description="episodes ended on or after, YYYY-MM-DD"),
            OpenApiParameter("to", str, description="episodes ended on or before, YYYY-MM-DD"),
        ],
        responses={200: EarlyAllianceSerializer, **problem_docs(400, 401, 403, 429)},
        summary="Early alliance (mean of the first three client ratings, banded at the cut-off) against dropout "
                "and reliable recovery",
        description=(
            "Finished episodes grouped by their early alliance, per clinic or primary clinician: dropout and "
            "reliable-recovery rates with n and 95% Wilson intervals. Small cells are suppressed, with "
            "complementary cells so none can be derived from the others. An association, never a cause."
        ),
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        problems: list[Problem] = []
        group_by = params.get("group_by", "clinic")
        if group_by not in CHOICES["group_by"]:
            problems.append(Problem("group_by", "one of clinic, clinician", "invalid_choice"))
        dates = date_range(params, problems)
        alliance, outcome = params.get("alliance", "srs")[:64], params.get("outcome", "ors")[:64]
        if problems:
            raise InvalidInput("The early-alliance query is not valid; see errors.", problems)
        is_clinician = self.principal.kind == "clinician"
        try:
            table = early_alliance_table(
                clinic_id=self.principal.clinic_id, alliance_id=alliance, outcome_id=outcome, group_by=group_by,
                date_from=dates["from"], date_to=dates["to"],
                clinician_ids=[self.principal.user_id] if is_clinician else None,
                viewer_clinician_id=self.principal.user_id if is_clinician else None,
            )
        except NoCutoff:
            raise InvalidInput(
                "This alliance instrument publishes no cut-off, so its early alliance has no bands.",
                [Problem("alliance", "no published cut-off (e.g. use srs)", "invalid")],
            ) from None
        except LookupError as error:
            name = "alliance" if error.args[0] == alliance else "outcome"
            raise InvalidInput(
                "Unknown instrument; see errors.",
                [Problem(name, "an alliance instrument (e.g. srs)" if name == "alliance"
                         else "a client-rated outcome instrument (e.g. ors)", "invalid")],
            ) from None
        self.audit(action="read", detail=f"early alliance {alliance} against {outcome} by {group_by}")
        return Response(table)
