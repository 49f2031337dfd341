"""Measurement plans and due lists over REST: `/measurement-plan/` (the clinic's default),
`/episodes/{id}/measurement-plan/` (an episode's override), `/clients/{external_id}/due/` and `/me/due/`."""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.parsing import date_range
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.api.views.care import EpisodeScopedView, json_object
from questionnaires.api.views.clients import STAFF_AND_KEYS, ClientScopedView
from questionnaires.selectors.completion import GROUPS as COMPLETION_GROUPS
from questionnaires.selectors.completion import clinic_today, completion_rates
from questionnaires.selectors.due import client_due, rules_in_force
from questionnaires.services.errors import InvalidInput
from questionnaires.services.plans import plan_clear, plan_set
from questionnaires.validation import Problem

PlanSerializer = inline_serializer(
    "MeasurementPlan",
    {
        "source": serializers.ChoiceField(choices=["episode", "clinic", "default"],
                                          help_text="Where the rules in force come from."),
        "rules": serializers.ListField(child=serializers.DictField()),
    },
)
PlanWriteSerializer = inline_serializer(
    "MeasurementPlanWrite",
    {"rules": serializers.ListField(child=serializers.DictField(), help_text=(
        'Each: {"questionnaire", "rater": client|clinician, "when": {"every_session": true} | {"sessions": [..]} | '
        '{"every_n_sessions": n, "from": k} | {"every_n_days": n}, "position": session_start|session_end, '
        '"open_hours": h, "requires_goals": bool}'
    ))},
)
DueSerializer = inline_serializer(
    "DueList",
    {
        "client": serializers.CharField(),
        "episode": serializers.IntegerField(allow_null=True),
        "plan": serializers.CharField(allow_null=True),
        "session": serializers.DictField(allow_null=True),
        "due": serializers.ListField(child=serializers.DictField(), help_text=(
            "Each: questionnaire, rater, position, opens, closes, status done|open|upcoming|missed."
        )),
        "missed": serializers.ListField(child=serializers.DictField()),
        "completion": serializers.DictField(help_text="completed ÷ expected over the episode's attended sessions."),
    },
)


def _rules(body) -> object:
    if "rules" not in body or set(body) - {"rules"}:
        problems = [Problem(str(key), "unknown field", "unknown_field") for key in body if key != "rules"]
        raise InvalidInput("The plan is not valid; see errors.", problems or [Problem("rules", "required", "required")])
    return body["rules"]


class ClinicPlanView(ApiView):
    allowed_kinds_by_method = {"GET": STAFF_AND_KEYS, "PUT": frozenset({"api_key", "supervisor"})}
    audit_object_type = "measurement_plan"
    audit_actions = {"GET": "read", "PUT": "update"}
    serializer_class = PlanSerializer

    @extend_schema(responses={200: PlanSerializer, **problem_docs(401, 403, 429)},
                   summary="The clinic's default measurement plan (the built-in one until the clinic sets its own)")
    def get(self, request: Request) -> Response:
        rules, source = rules_in_force(clinic_id=self.principal.clinic_id, episode_id=None)
        return Response({"source": source, "rules": rules})

    @extend_schema(request=PlanWriteSerializer, responses={200: PlanSerializer, **problem_docs(400, 401, 403, 429)},
                   summary="Replace the clinic's default measurement plan")
    def put(self, request: Request) -> Response:
        plan = plan_set(principal=self.principal, rules=_rules(json_object(request.data)))
        self.audit(action="update", object_ids=[plan.pk])
        return Response({"source": "clinic", "rules": plan.rules})


class EpisodePlanView(EpisodeScopedView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "measurement_plan"
    audit_actions = {"GET": "read", "PUT": "update", "DELETE": "delete"}
    serializer_class = PlanSerializer

    @extend_schema(responses={200: PlanSerializer, **problem_docs(401, 403, 404, 429)},
                   operation_id="episodes_measurement_plan_read", summary="The plan in force for the episode")
    def get(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        rules, source = rules_in_force(clinic_id=episode.clinic_id, episode_id=episode.pk)
        return Response({"source": source, "rules": rules})

    @extend_schema(
        request=PlanWriteSerializer, responses={200: PlanSerializer, **problem_docs(400, 401, 403, 404, 429)},
        summary="Give the episode its own plan",
    )
    def put(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        plan = plan_set(principal=self.principal, rules=_rules(json_object(request.data)), episode=episode)
        self.audit(action="update", object_ids=[plan.pk], detail=f"episode {episode.pk}")
        return Response({"source": "episode", "rules": plan.rules})

    @extend_schema(request=None, responses={204: None, **problem_docs(401, 403, 404, 429)},
                   summary="The episode follows the clinic's default plan again")
    def delete(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        plan_clear(principal=self.principal, episode=episode)
        self.audit(action="delete", object_ids=[episode.pk], detail=f"episode {episode.pk}")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientDueView(ClientScopedView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "due"
    audit_actions = {"GET": "read"}
    serializer_class = DueSerializer

    @extend_schema(responses={200: DueSerializer, **problem_docs(401, 403, 404, 429)},
                   summary="What the plan expects of the client at the current or next session, and what was missed")
    def get(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        body = client_due(client=client)
        self.audit(action="read", object_ids=[client.external_id])
        return Response(body)


class MyDueView(ApiView):
    allowed_kinds = frozenset({"client_token"})
    audit_object_type = "due"
    audit_actions = {"GET": "read"}
    serializer_class = DueSerializer

    @extend_schema(responses={200: DueSerializer, **problem_docs(401, 403, 429)},
                   summary="For a client's app: the client's own measures due now or at the next session")
    def get(self, request: Request) -> Response:
        client = self.principal.therapy_client
        body = client_due(client=client, raters=("client",))
        self.audit(action="read", object_ids=[client.external_id])
        return Response(body)


COMPLETION_WINDOW_DAYS = 90
CompletionSerializer = inline_serializer(
    "Completion",
    {
        "group_by": serializers.ChoiceField(choices=list(COMPLETION_GROUPS)),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "results": serializers.ListField(child=serializers.DictField(), help_text=(
            "Per instrument and rater (and clinician with group_by=clinician, null = unattributed): "
            "expected, completed, rate (null when nothing was expected).")),
        "total": serializers.DictField(),
    },
)


class CompletionView(ApiView):
    """`GET /completion/`: completed ÷ expected from the measurement plan, over attended sessions in a period."""

    allowed_kinds = frozenset({"api_key", "clinician", "supervisor"})
    audit_object_type = "metrics"
    audit_actions = {"GET": "read"}
    query_parameters = frozenset({"group_by", "from", "to", "questionnaire"})
    serializer_class = CompletionSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", str, enum=COMPLETION_GROUPS, description="default `clinic`"),
            OpenApiParameter("from", str,
                             description=f"first day, YYYY-MM-DD (default `to` − {COMPLETION_WINDOW_DAYS} days)"),
            OpenApiParameter("to", str, description="last day, YYYY-MM-DD (default today, the clinic's time zone)"),
            OpenApiParameter("questionnaire", str, description="only this instrument, e.g. `phq-9`"),
        ],
        responses={200: CompletionSerializer, **problem_docs(400, 401, 403, 429)},
        summary="Plan completion: measures completed ÷ measures the plan expected at attended sessions",
        description=(
            "Expected: what the plan in force (episode override, else the clinic's default plan, else the "
            "built-in one) expects at each attended session that started in the period, as the due list counts "
            "it; completed: those with a response linked to that session (retracted ones do not count). A "
            "clinician sees only the sessions credited to them."
        ),
    )
    def get(self, request: Request) -> Response:
        principal = self.principal
        params = request.query_params
        problems: list[Problem] = []
        group_by = params.get("group_by", "clinic")
        if group_by not in COMPLETION_GROUPS:
            problems.append(Problem("group_by", f"one of {', '.join(COMPLETION_GROUPS)}", "invalid_choice"))
        questionnaire = params.get("questionnaire") or None
        if questionnaire is not None and len(questionnaire) > 64:
            problems.append(Problem("questionnaire", "at most 64 characters", "invalid"))
        dates = date_range(params, problems)
        if problems:
            raise InvalidInput("The completion query is not valid; see errors.", problems)
        clinician = principal.user_id if principal.kind == "clinician" else None
        if clinician is not None:
            group_by = "clinician"
        date_to = dates["to"] or clinic_today(principal.clinic_id)
        date_from = dates["from"] or date_to - timedelta(days=COMPLETION_WINDOW_DAYS)
        if date_from > date_to:
            raise InvalidInput("The completion query is not valid; see errors.",
                               [Problem("from", "after `to`", "invalid")])
        body = completion_rates(clinic_id=principal.clinic_id, group_by=group_by, date_from=date_from,
                                date_to=date_to, questionnaire_id=questionnaire, clinician_id=clinician)
        self.audit(action="read", detail=f"completion by {group_by}")
        return Response({"group_by": group_by, "from": date_from, "to": date_to, **body})
