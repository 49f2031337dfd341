"""Measurement plans and due lists over REST: `/measurement-plan/` (the clinic's default),
`/episodes/{id}/measurement-plan/` (an episode's override), `/clients/{external_id}/due/` and `/me/due/`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.api.views.care import EpisodeScopedView, json_object
from questionnaires.api.views.clients import STAFF_AND_KEYS, ClientScopedView
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
