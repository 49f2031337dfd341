"""`/clients/{external_id}/goals/`: the client's shared goals, their lifecycle and per-goal progress.

Goal text is the client's own words: every read and write is audited, and only callers who may
see the client (staff, the clinic's API key, the client's own token) ever get it.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.parsing import json_object_body
from questionnaires.api.views.base import problem_docs
from questionnaires.api.views.clients import ClientScopedView
from questionnaires.models import Goal
from questionnaires.principals import ALL_KINDS
from questionnaires.selectors.goals import goal_as_dict, goal_ratings, goals_of
from questionnaires.services.errors import InvalidInput
from questionnaires.services.goals import goal_create, goal_status_set
from questionnaires.validation import Problem

MAX_ID = 2**63 - 1

GoalSerializer = inline_serializer(
    "Goal",
    {
        "id": serializers.IntegerField(),
        "text": serializers.CharField(),
        "status": serializers.ChoiceField(choices=[choice.value for choice in Goal.Status]),
        "created": serializers.DateTimeField(),
        "replaced_by": serializers.IntegerField(allow_null=True),
        "progress": serializers.DictField(required=False),
        "trajectory": serializers.ListField(child=serializers.DictField(), required=False),
    },
)
GoalListSerializer = inline_serializer(
    "GoalList", {"client": serializers.CharField(), "results": serializers.ListField(child=serializers.DictField())}
)
GoalCreateSerializer = inline_serializer("GoalCreate", {"text": serializers.CharField(max_length=500)})
GoalUpdateSerializer = inline_serializer(
    "GoalUpdate",
    {
        "status": serializers.ChoiceField(choices=["achieved", "dropped", "replaced"]),
        "replacement": serializers.CharField(required=False, help_text="The new goal's text, with `replaced`."),
    },
)


class GoalListView(ClientScopedView):
    allowed_kinds = ALL_KINDS
    audit_object_type = "goal"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = GoalSerializer

    @extend_schema(
        responses={200: GoalListSerializer, **problem_docs(401, 403, 404, 429)},
        operation_id="clients_goals_list",
        summary="The client's goals, active and closed, each with its change since the first rating",
    )
    def get(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        ratings = goal_ratings(client_id=client.pk)
        goals = goals_of(client_id=client.pk)
        self.audit(action="list", object_ids=[goal.id for goal in goals], detail=f"client {client.external_id}")
        shaped = [goal_as_dict(goal, ratings.get(goal.id, []), viewer=self.principal) for goal in goals]
        return Response({"client": client.external_id, "results": shaped})

    @extend_schema(
        request=GoalCreateSerializer,
        responses={201: GoalSerializer, **problem_docs(400, 401, 403, 404, 409, 415, 429)},
        summary="Record a goal agreed with the client, in their own words (at most three active)",
    )
    def post(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        body = json_object_body(request.data, {"text"})
        if "text" not in body:
            raise InvalidInput("The goal is not valid; see errors.", [Problem("text", "required", "required")])
        goal = goal_create(principal=self.principal, client=client, text=body["text"])
        self.audit(action="create", object_ids=[goal.id], detail=f"client {client.external_id}")
        return Response(
            goal_as_dict(goal, [], viewer=self.principal),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client.external_id}/goals/{goal.id}/"},
        )


class GoalDetailView(ClientScopedView):
    allowed_kinds = ALL_KINDS
    audit_object_type = "goal"
    audit_actions = {"GET": "read", "PATCH": "update"}
    serializer_class = GoalSerializer

    def _goal(self, client, goal_id: str) -> Goal:
        goal = None
        if goal_id.isascii() and goal_id.isdigit() and 0 < int(goal_id) <= MAX_ID:
            goal = Goal.objects.filter(client=client, pk=int(goal_id)).first()
        if goal is None:
            raise NotFound("No such goal for this client.")
        return goal

    @extend_schema(
        responses={200: GoalSerializer, **problem_docs(401, 403, 404, 429)},
        summary="One goal with its rating at every session and its change since the first rating",
    )
    def get(self, request: Request, external_id: str, goal_id: str) -> Response:
        client = self.visible_client(external_id)
        goal = self._goal(client, goal_id)
        ratings = goal_ratings(client_id=client.pk).get(goal.id, [])
        self.audit(action="read", object_ids=[goal.id], detail=f"client {client.external_id}")
        return Response(goal_as_dict(goal, ratings, with_trajectory=True, viewer=self.principal))

    @extend_schema(
        request=GoalUpdateSerializer,
        responses={200: GoalSerializer, **problem_docs(400, 401, 403, 404, 409, 415, 429)},
        summary="Close a goal as achieved or dropped, or replace it with a new one (history is kept)",
    )
    def patch(self, request: Request, external_id: str, goal_id: str) -> Response:
        client = self.visible_client(external_id)
        goal = self._goal(client, goal_id)
        body = json_object_body(request.data, {"status", "replacement"})
        if "status" not in body:
            raise InvalidInput("The update is not valid; see errors.", [Problem("status", "required", "required")])
        goal = goal_status_set(
            principal=self.principal, goal=goal, status=body["status"], replacement_text=body.get("replacement")
        )
        changed = [goal.id] + ([goal.replaced_by_id] if goal.replaced_by_id else [])
        self.audit(action="update", object_ids=changed, detail=f"client {client.external_id}: {goal.status}")
        ratings = goal_ratings(client_id=client.pk)
        shaped = goal_as_dict(goal, ratings.get(goal.id, []), viewer=self.principal)
        if goal.replaced_by_id:
            shaped["replacement"] = goal_as_dict(goal.replaced_by, [], viewer=self.principal)
        return Response(shaped)
