"""`/clients/`: therapy clients by external_id, their score trajectories and their client-scoped tokens."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.filters import ClientFilter
from questionnaires.api.serializers import (
    ClientCreateSerializer,
    ClientSerializer,
    ClientTokenCreateSerializer,
    ClientTokenSerializer,
    IssuedClientTokenSerializer,
    TrajectorySerializer,
)
from questionnaires.api.views.base import ApiListView, ApiView, problem_docs
from questionnaires.models import ClientToken, TherapyClient
from questionnaires.principals import ALL_KINDS
from questionnaires.selectors.clients import (
    client_as_dict,
    client_get_visible,
    clients_as_dicts,
    clients_visible_to,
    clients_with_clinicians,
)
from questionnaires.selectors.discrepancies import alliance_discrepancies
from questionnaires.selectors.responses import disclosure_for
from questionnaires.selectors.trajectories import client_trajectory
from questionnaires.services.clients import client_create
from questionnaires.services.credentials import client_token_issue, credential_revoke

STAFF_AND_KEYS = frozenset({"api_key", "clinician", "supervisor"})


class ClientScopedView(ApiView):
    # A view under /clients/{external_id}/: the client must be visible to the caller, or it is a 404.

    audit_object_type = "client"
    object_scoped = True

    def visible_client(self, external_id: str) -> TherapyClient:
        client = client_get_visible(principal=self.principal, external_id=external_id)
        if client is None:
            raise NotFound("No such client.")
        self.deny_kind_if_needed()
        return client


class ClientListView(ApiListView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "client"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = ClientSerializer
    filterset_class = ClientFilter

    def get_queryset(self) -> QuerySet[TherapyClient]:
        if getattr(self, "swagger_fake_view", False):
            return TherapyClient.objects.none()
        return clients_visible_to(self.principal).order_by("external_id")

    @extend_schema(
        responses={200: ClientSerializer(many=True), **problem_docs(400, 401, 403, 429)},
        summary="List the clients this caller may see",
    )
    def get(self, request: Request) -> Response:
        clients = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(clients_with_clinicians(clients))
        self.audit(action="list", object_ids=[client.external_id for client in page])
        return self.get_paginated_response(clients_as_dicts(page))

    @extend_schema(
        request=ClientCreateSerializer,
        responses={201: ClientSerializer, **problem_docs(400, 401, 403, 409, 415, 429)},
        summary="Create a client (API key or supervisor; a clinician only where the clinic allows it)",
    )
    def post(self, request: Request) -> Response:
        if self.principal.kind == "clinician" and not settings.CLINICIANS_MAY_REGISTER_CLIENTS:
            # External ids are unique in the clinic: a clinician's 409 would tell them who else is a client.
            raise PermissionDenied("Clients are registered by the clinic's integration or a supervisor.")
        serializer = ClientCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client = client_create(
            principal=self.principal,
            external_id=serializer.validated_data["external_id"],
            clinician_usernames=serializer.validated_data.get("clinicians", []),
        )
        self.audit(action="create", object_ids=[client.external_id])
        client = clients_with_clinicians(TherapyClient.objects.filter(pk=client.pk)).get()
        return Response(
            client_as_dict(client),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/clients/{client.external_id}/"},
        )


class ClientDetailView(ClientScopedView):
    allowed_kinds = STAFF_AND_KEYS
    audit_actions = {"GET": "read"}
    serializer_class = ClientSerializer

    @extend_schema(responses={200: ClientSerializer, **problem_docs(401, 403, 404, 429)}, summary="One client")
    def get(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        client = clients_with_clinicians(TherapyClient.objects.filter(pk=client.pk)).get()
        self.audit(action="read", object_ids=[client.external_id])
        return Response(client_as_dict(client))


class ClientScoresView(ClientScopedView):
    allowed_kinds = ALL_KINDS
    audit_object_type = "score"
    audit_actions = {"GET": "read"}
    serializer_class = TrajectorySerializer

    @extend_schema(
        parameters=[OpenApiParameter("questionnaire", str, description="Only this questionnaire, e.g. `srs`.")],
        responses={200: TrajectorySerializer, **problem_docs(401, 403, 404, 429)},
        summary="The client's session-by-session scores, oldest first",
    )
    def get(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        questionnaire = request.query_params.get("questionnaire") or None
        points = client_trajectory(
            client=client,
            questionnaire_id=questionnaire,
            disclosure=disclosure_for(self.principal),
        )
        self.audit(
            action="read", object_ids=[point["response"] for point in points], detail=f"client {client.external_id}"
        )
        return Response(
            {
                "client": client.external_id,
                "questionnaire": questionnaire,
                "points": points,
                "discrepancies": alliance_discrepancies(points),
            }
        )


def _token_as_dict(token: ClientToken, client: TherapyClient) -> dict:
    return {
        "prefix": token.prefix,
        "name": token.name,
        "client": client.external_id,
        "created": token.created,
        "expires": token.expiry_date,
        "revoked": token.revoked,
        "last_used": token.last_used_at,
    }


class ClientTokenListView(ApiListView, ClientScopedView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "client_token"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = ClientTokenSerializer
    queryset = ClientToken.objects.none()

    @extend_schema(
        responses={200: ClientTokenSerializer(many=True), **problem_docs(401, 403, 404, 429)},
        summary="The client's tokens (never the secret)",
    )
    def get(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        tokens = self.paginate_queryset(ClientToken.objects.filter(client=client).order_by("-created"))
        self.audit(action="list", object_ids=[token.prefix for token in tokens], detail=f"client {external_id}")
        return self.get_paginated_response([_token_as_dict(token, client) for token in tokens])

    @extend_schema(
        request=ClientTokenCreateSerializer,
        responses={201: IssuedClientTokenSerializer, **problem_docs(400, 401, 403, 404, 415, 429)},
        summary="Issue an expiring token for the client's app (shown once)",
    )
    def post(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        serializer = ClientTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        seconds = serializer.validated_data.get("expires_in")
        token, key = client_token_issue(
            client=client,
            issued_by=self.principal.user,
            lifetime=timedelta(seconds=seconds) if seconds else None,
            name=serializer.validated_data.get("name", ""),
        )
        self.audit(action="create", object_ids=[token.prefix], detail=f"client {external_id}")
        return Response({**_token_as_dict(token, client), "token": key}, status=status.HTTP_201_CREATED)


class ClientTokenDetailView(ClientScopedView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "client_token"
    audit_actions = {"DELETE": "revoke"}
    serializer_class = ClientTokenSerializer

    @extend_schema(request=None, responses={204: None, **problem_docs(401, 403, 404, 429)}, summary="Revoke a token")
    def delete(self, request: Request, external_id: str, prefix: str) -> Response:
        client = self.visible_client(external_id)
        token = ClientToken.objects.filter(client=client, prefix=prefix[:8]).first() if "\x00" not in prefix else None
        if token is None or len(prefix) > 8:
            raise NotFound("No such token for this client.")
        credential_revoke(credential=token)
        self.audit(action="revoke", object_ids=[token.prefix], detail=f"client {external_id}")
        return Response(status=status.HTTP_204_NO_CONTENT)
